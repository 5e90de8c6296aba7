/* The search page: Pagefind's own search API (loaded only here), results as plain DOM nodes. */
const script = document.querySelector("script[data-bundle]");
const bundle = script.dataset.bundle;
const form = document.querySelector(".search__form");
const input = document.getElementById("search-input");
const status = document.querySelector(".search__status");
const list = document.querySelector(".search__results");
const SHOWN = 20;
let loading = null;
let latest = 0;

async function loadPagefind() {
  const pagefind = await import(bundle + "pagefind.js");
  await pagefind.options({ baseUrl: script.dataset.base });
  return pagefind;
}

function resultItem(data) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = data.meta.title || data.url;
  const excerpt = document.createElement("p");
  excerpt.innerHTML = data.excerpt;   // Pagefind escapes the page text and adds only <mark>
  item.append(link, excerpt);
  return item;
}

async function search(query) {
  const run = ++latest;
  if (!query.trim()) {
    list.replaceChildren();
    status.textContent = "";
    return;
  }
  loading = loading || loadPagefind();
  const found = await (await loading).search(query);
  const shown = await Promise.all(found.results.slice(0, SHOWN).map((result) => result.data()));
  if (run !== latest) return;   // a newer query finished first
  list.replaceChildren(...shown.map(resultItem));
  status.textContent = found.results.length
    ? script.dataset.results.replace("{n}", found.results.length) : script.dataset.none;
}

function fromInput() {
  const url = new URL(location.href);
  url.searchParams.set("q", input.value);
  history.replaceState(null, "", url);
  search(input.value).catch(failed);
}

function failed(error) {
  status.textContent = String(error && error.message || error);
}

let timer = 0;
input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(fromInput, 200); });
form.addEventListener("submit", (event) => { event.preventDefault(); fromInput(); });
input.value = new URLSearchParams(location.search).get("q") || "";
status.textContent = "";
search(input.value).catch(failed);
