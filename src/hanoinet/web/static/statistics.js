/* The statistics page's charts (web/statistics.py): each <canvas data-spec> is drawn by
   Chart.js from the JSON block it names, its labels already in the reader's language.
   The table under each chart holds the same figures; a withheld count (null) draws no
   bar and the tooltip of its category says withheld. No animation: a chart is read,
   not watched. */
(function () {
  "use strict";
  // Okabe and Ito's colours: told apart with any colour vision.
  var COLOURS = {
    blue: "#0072B2",
    orange: "#E69F00",
    green: "#009E73",
    sky: "#56B4E9",
    vermillion: "#D55E00",
    pink: "#CC79A7",
    grey: "#8C8C8C",
    yellow: "#F0E442"
  };
  var root = document.documentElement;
  var rtl = root.dir === "rtl";
  var lang = root.lang || "en";
  var numbers = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

  function draw(canvas) {
    var block = document.getElementById(canvas.getAttribute("data-spec"));
    if (!block) {
      return;
    }
    var spec = JSON.parse(block.textContent);
    var series = spec.series;
    var box = canvas.parentNode;
    // a stacked category is one bar; a grouped one a bar per series (pixels, with the legend)
    var perLabel = spec.stacked ? 34 : 14 + 16 * series.length;
    box.style.height = Math.max(160, spec.labels.length * perLabel + 110) + "px";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: series.map(function (s) {
          return { label: s.name, data: s.values, backgroundColor: COLOURS[s.colour] || COLOURS.grey, borderWidth: 0 };
        })
      },
      options: {
        indexAxis: "y",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        locale: lang,
        // a category's every series in one tooltip, a withheld (null) one too
        interaction: { mode: "index", axis: "y", intersect: false },
        scales: {
          x: {
            stacked: spec.stacked,
            beginAtZero: true,
            max: spec.max || undefined,
            reverse: rtl,
            title: { display: Boolean(spec.unit), text: spec.unit || "" },
            ticks: { precision: spec.unit ? undefined : 0 }
          },
          y: { stacked: spec.stacked, position: rtl ? "right" : "left" }
        },
        plugins: {
          legend: { position: "bottom", rtl: rtl, textDirection: rtl ? "rtl" : "ltr" },
          tooltip: {
            rtl: rtl,
            textDirection: rtl ? "rtl" : "ltr",
            callbacks: {
              label: function (item) {
                var value = item.raw === null ? spec.withheld : numbers.format(item.raw);
                return item.dataset.label + ": " + value + (spec.unit ? " " + spec.unit : "");
              }
            }
          }
        }
      }
    });
  }

  function start() {
    if (!window.Chart) {
      return; // the tables stand alone
    }
    var font = window.getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.font.family = font;
    window.Chart.defaults.font.size = 14;
    window.Chart.defaults.color = "#0b0c0c";
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-spec]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
