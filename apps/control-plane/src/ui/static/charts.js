// Draws the uPlot charts a page declares: <div data-chart="outcomes|repo-size" data-source="json-element-id">.
(function () {
  'use strict';
  var charts = [];

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
              size: 70,
            }
          : {},
      ),
    ];
  }

  function build(el) {
    var source = document.getElementById(el.getAttribute('data-source'));
    if (!source || typeof uPlot === 'undefined') return;
    var data = JSON.parse(source.textContent || '{}');
    var width = Math.max(280, el.clientWidth);
    var opts;
    var series;
    if (el.getAttribute('data-chart') === 'outcomes') {
      var keys = [
        ['succeeded', '--ok'],
        ['warning', '--warn'],
        ['failed', '--bad'],
        ['cancelled', '--muted'],
        ['lost', '--info'],
      ];
      series = [data.x].concat(
        keys.map(function (k) {
          return data[k[0]];
        }),
      );
      opts = {
        width: width,
        height: 220,
        scales: {
          x: { time: true },
          y: {
            range: function (u, min, max) {
              return [0, Math.max(4, max + 1)];
            },
          },
        },
        axes: axes(function (v) {
          return Number.isInteger(v) ? String(v) : '';
        }),
        series: [{ label: 'Day', value: '{YYYY}-{MM}-{DD}' }].concat(
          keys.map(function (k) {
            var color = css(k[1]);
            return {
              label: k[0],
              stroke: color,
              fill: color + '33',
              width: 2,
              points: { show: true, size: 5 },
            };
          }),
        ),
      };
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
        c.plot.setSize({ width: Math.max(280, c.el.clientWidth), height: 220 });
      });
    }, 150);
  });
})();
