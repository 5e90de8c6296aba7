// Turns a chart picture into its interactive chart when the reader comes to it: points at it,
// touches it, presses its button, or scrolls it into view. Until then the page has loaded none
// of the chart libraries (Plotly alone is 3.5 MB of script, half a second of main thread), so
// reading starts at once. The spec is JSON data, never code; a chart that fails to draw leaves
// its picture in place.
(function () {
  "use strict";
  var script = document.currentScript;
  var loading = {};   // library kind -> promise of its script loaded

  function library(kind) {
    var url = script.getAttribute("data-" + kind);
    if (!loading[kind]) {
      loading[kind] = new Promise(function (loaded, failed) {
        if (!url) return failed(new Error("no library for " + kind));
        var element = document.createElement("script");
        element.src = url;
        element.onload = loaded;
        element.onerror = function () { failed(new Error("cannot load " + url)); };
        document.head.appendChild(element);
      });
    }
    return loading[kind];
  }
  function mount(figure) {
    var picture = figure.querySelector(".output__chart-picture");
    var box = document.createElement("div");
    box.className = "output__chart-interactive";
    box.setAttribute("role", "group");   // not "img": the chart has buttons inside
    box.setAttribute("aria-label", picture ? picture.alt : "");
    box.tabIndex = -1;                   // focus moves here from the button
    figure.insertBefore(box, picture);
    return { figure: figure, box: box, picture: picture };
  }
  function shown(parts) {
    var button = parts.figure.querySelector(".output__chart-activate");
    var hadFocus = button && document.activeElement === button;
    if (parts.picture) parts.picture.hidden = true;
    if (button) button.remove();
    if (hadFocus) parts.box.focus();
  }
  function failed(parts, error) {
    parts.box.remove();
    console.warn("chart not drawn:", error);
  }
  // Vega may fetch data or images by URL; a page's chart uses only the data in its spec.
  function offlineLoader() {
    var refuse = function () { return Promise.reject(new Error("charts load no files")); };
    return { load: refuse, sanitize: refuse, http: refuse, file: refuse };
  }
  function draw(figure) {
    var spec = JSON.parse(figure.querySelector(".output__chart-spec").textContent);
    var parts = mount(figure);
    var kind = figure.getAttribute("data-chart");
    if (kind === "plotly" && window.Plotly) {
      var config = Object.assign({}, spec.config, { responsive: true, displaylogo: false, showLink: false,
                                                    showSendToCloud: false, showEditInChartStudio: false });
      window.Plotly.newPlot(parts.box, spec.data || [], spec.layout || {}, config)
        .then(function () { shown(parts); }, function (error) { failed(parts, error); });
    } else if (kind === "vegalite" && window.vegaEmbed) {
      window.vegaEmbed(parts.box, spec, { actions: false, loader: offlineLoader() })
        .then(function () { shown(parts); }, function (error) { failed(parts, error); });
    } else {
      failed(parts, "no library for " + kind);
    }
  }
  function activate(figure) {
    if (figure.hasAttribute("data-chart-active")) return;
    figure.setAttribute("data-chart-active", "");
    library(figure.getAttribute("data-chart")).then(function () {
      try { draw(figure); } catch (error) { console.warn("chart not drawn:", error); }
    }, function (error) { console.warn("chart not drawn:", error); });
  }
  function offer(figure) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "output__chart-activate";
    button.textContent = script.getAttribute("data-activate") || "Interactive chart";
    button.addEventListener("click", function () { activate(figure); });
    figure.appendChild(button);
    ["pointerenter", "touchstart", "focusin"].forEach(function (event) {
      figure.addEventListener(event, function () { activate(figure); }, { once: true, passive: true });
    });
  }
  var figures = document.querySelectorAll("figure[data-chart]");
  figures.forEach(offer);
  // Scrolling, not the page's first screen, draws the charts in view: a reader on the way to them.
  if ("IntersectionObserver" in window) {
    window.addEventListener("scroll", function () {
      var observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) { observer.unobserve(entry.target); activate(entry.target); }
        });
      }, { rootMargin: "200px 0px" });
      figures.forEach(function (figure) { observer.observe(figure); });
    }, { once: true, passive: true });
  }
})();
