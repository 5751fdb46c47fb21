// Draws the uPlot charts a page declares: <div data-chart="outcomes|repo-size|sparkline" data-source="json-element-id">.
(function () {
  'use strict';
  var charts = [];
  var SPARK_HEIGHT = 32;

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
  }

  function bytes(v) {
    if (v == null) return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
  }

  function axes(valueFormat) {
    var grid = { stroke: css('--border'), width: 1 };
    var common = { stroke: css('--muted'), grid: grid, ticks: grid };
    return [
      Object.assign({}, common),
      Object.assign(
        {},
        common,
        valueFormat
          ? {
              values: function (u, vals) {
                return vals.map(valueFormat);
              },
              size: 84,
            }
          : {},
      ),
    ];
  }

  var DAY = 86400;
  var OUTCOMES = [
    ['succeeded', '--ok'],
    ['warning', '--warn'],
    ['failed', '--bad'],
    ['cancelled', '--muted'],
    ['lost', '--info'],
  ];

  function day(v) {
    return new Date(v * 1000).toISOString().slice(0, 10);
  }

  /**
   * Daily job outcomes as stacked bars. uPlot draws each series as bars from
   * zero, so every series carries the running sum up to its outcome and they
   * are drawn top segment first: each shorter bar paints over the taller one
   * behind it, which leaves one coloured segment per outcome. The legend
   * names each outcome with its colour and shows the hovered day's own counts
   * (the last 30 days' total when no day is hovered).
   */
  function outcomes(data, width) {
    var raw = OUTCOMES.map(function (k) {
      return data[k[0]] || [];
    });
    var running = data.x.map(function () {
      return 0;
    });
    var stacked = raw.map(function (counts) {
      running = running.map(function (sum, i) {
        return sum + (counts[i] || 0);
      });
      return running.slice();
    });
    var order = OUTCOMES.map(function (_, i) {
      return OUTCOMES.length - 1 - i;
    });
    var totals = raw.map(function (counts) {
      return counts.reduce(function (a, b) {
        return a + b;
      }, 0);
    });
    var bars = uPlot.paths.bars({ size: [0.7, 48], align: 0 });
    var opts = {
      width: width,
      height: 220,
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: {
          time: true,
          range: function (u, min, max) {
            return [min - DAY / 2, max + DAY / 2];
          },
        },
        y: {
          range: function (u, min, max) {
            return [0, Math.max(4, max + 1)];
          },
        },
      },
      axes: [
        Object.assign(axes()[0], { space: 60 }),
        Object.assign(
          axes(function (v) {
            return Number.isInteger(v) ? String(v) : '';
          })[1],
          { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] },
        ),
      ],
      series: [
        {
          label: 'Day',
          value: function (u, v) {
            return v == null ? 'last 30 days' : day(v);
          },
        },
      ].concat(
        order.map(function (i) {
          var color = css(OUTCOMES[i][1]);
          return {
            label: OUTCOMES[i][0],
            stroke: color,
            fill: color,
            width: 0,
            paths: bars,
            points: { show: false },
            value: function (u, v, si, idx) {
              return String(idx == null ? totals[i] : raw[i][idx] || 0);
            },
          };
        }),
      ),
    };
    return {
      opts: opts,
      series: [data.x].concat(
        order.map(function (i) {
          return stacked[i];
        }),
      ),
    };
  }

  // A repository's size in a table cell: no axes, no legend, the line only.
  function sparkline(data, width) {
    return {
      width: width,
      height: SPARK_HEIGHT,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false },
        y: {
          range: function (u, min, max) {
            var pad = (max - min) * 0.1 || max * 0.05 || 1;
            return [Math.max(0, min - pad), max + pad];
          },
        },
      },
      axes: [{ show: false }, { show: false }],
      series: [
        {},
        { stroke: css('--accent'), fill: css('--accent') + '22', width: 1.5, points: { show: false } },
      ],
    };
  }

  function heightOf(el) {
    return el.getAttribute('data-chart') === 'sparkline' ? SPARK_HEIGHT : 220;
  }

  function widthOf(el) {
    return el.getAttribute('data-chart') === 'sparkline'
      ? Math.max(60, el.clientWidth)
      : Math.max(280, el.clientWidth);
  }

  function build(el) {
    var source = document.getElementById(el.getAttribute('data-source'));
    if (!source || typeof uPlot === 'undefined') return;
    var data = JSON.parse(source.textContent || '{}');
    var width = widthOf(el);
    var opts;
    var series;
    if (el.getAttribute('data-chart') === 'sparkline') {
      opts = sparkline(data, width);
      series = [data.x, data.y];
    } else if (el.getAttribute('data-chart') === 'outcomes') {
      var built = outcomes(data, width);
      opts = built.opts;
      series = built.series;
    } else {
      series = [data.x, data.y];
      opts = {
        width: width,
        height: 220,
        scales: {
          x: {
            time: true,
            // One point (or a short span) would stretch the axis over years; show at least a week.
            range: function () {
              var lo = Math.min.apply(null, data.x);
              var hi = Math.max.apply(null, data.x);
              if (hi - lo < 7 * 86400) {
                var mid = (lo + hi) / 2;
                lo = mid - 3.5 * 86400;
                hi = mid + 3.5 * 86400;
              }
              return [lo, hi];
            },
          },
          y: {
            range: function (u, min, max) {
              return [0, max > 0 ? max * 1.15 : 1024];
            },
          },
        },
        axes: axes(bytes),
        series: [
          { label: 'Time' },
          {
            label: 'Repository size',
            stroke: css('--accent'),
            fill: css('--accent') + '22',
            width: 2,
            value: function (u, v) {
              return bytes(v);
            },
          },
        ],
      };
    }
    el.innerHTML = '';
    charts.push({ el: el, plot: new uPlot(opts, series, el) });
  }

  function drawAll(root) {
    charts = charts.filter(function (c) {
      if (document.body.contains(c.el)) return true;
      c.plot.destroy();
      return false;
    });
    (root || document).querySelectorAll('[data-chart]').forEach(function (el) {
      charts = charts.filter(function (c) {
        if (c.el !== el) return true;
        c.plot.destroy();
        return false;
      });
      build(el);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    drawAll(document);
  });
  document.addEventListener('rf:theme', function () {
    drawAll(document);
  });
  document.addEventListener('htmx:afterSettle', function (ev) {
    drawAll(ev.target);
  });
  var resizeTimer;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) {
        c.plot.setSize({ width: widthOf(c.el), height: heightOf(c.el) });
      });
    }, 150);
  });
})();
