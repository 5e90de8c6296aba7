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

/* The index is one Pagefind bundle per shard of the pages (pagefind/shards.json lists them): the
   first one's script leads and the others are merged into it, so one query searches them all. */
async function loadPagefind() {
  const listing = await fetch(bundle + "shards.json", { cache: "no-cache" });
  if (!listing.ok) throw new Error(`${bundle}shards.json: HTTP ${listing.status}`);
  const [first, ...others] = (await listing.json()).shards;
  if (!first) return null;
  const pagefind = await import(`${bundle}${first}/pagefind.js`);
  const base = { baseUrl: script.dataset.base };
  await pagefind.options(base);
  await Promise.all(others.map((shard) => pagefind.mergeIndex(`${bundle}${shard}/`, base)));
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
  const pagefind = await loading;
  const found = pagefind ? await pagefind.search(query) : { results: [] };
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
