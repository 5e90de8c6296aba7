// Turns each chart picture into its interactive chart. The spec is JSON data, never code; a
// chart that fails to draw leaves its picture in place.
(function () {
  "use strict";
  function mount(figure) {
    var picture = figure.querySelector(".output__chart-picture");
    var box = document.createElement("div");
    box.className = "output__chart-interactive";
    box.setAttribute("role", "group");   // not "img": the chart has buttons inside
    box.setAttribute("aria-label", picture ? picture.alt : "");
    figure.insertBefore(box, picture);
    return { box: box, picture: picture };
  }
  function shown(parts) {
    if (parts.picture) parts.picture.hidden = true;
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
  document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
    try { draw(figure); } catch (error) { console.warn("chart not drawn:", error); }
  });
})();
