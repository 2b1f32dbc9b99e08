// bench-dist-control report: draws the charts the page's data block
// describes. Everything a chart shows -- series, points, invalid markers,
// the knee -- was decided by bench-dist-control (report/curves, report/html);
// this script only maps those descriptions onto Chart.js. Text from the data
// goes into the page through textContent and into the charts as canvas
// text, never as HTML.
(function () {
  'use strict';
  var palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4d7c0f', '#db2777',
                 '#475569', '#b45309', '#0d9488', '#7c3aed'];
  var data = JSON.parse(document.getElementById('report-data').textContent);

  function problem(canvas, text) {
    var p = document.createElement('p');
    p.className = 'chart-error';
    p.textContent = text;
    canvas.parentNode.parentNode.insertBefore(p, canvas.parentNode.nextSibling);
  }

  function axis(spec, position, extra) {
    var a = { type: spec && spec.log ? 'logarithmic' : 'linear', position: position,
              title: { display: !!(spec && spec.title), text: spec ? spec.title : '' } };
    if (spec && spec.beginAtZero) a.beginAtZero = true;
    if (spec && typeof spec.min === 'number') a.min = spec.min;
    if (spec && typeof spec.max === 'number') a.max = spec.max;
    for (var k in extra || {}) a[k] = extra[k];
    return a;
  }

  function points(list) {
    return list.map(function (p) { return { x: p[0], y: p[1] }; });
  }

  function xyConfig(c) {
    var datasets = [];
    var scales = { x: axis(c.x, 'bottom'), y: axis(c.y, 'left') };
    if (c.y2) scales.y2 = axis(c.y2, 'right', { grid: { drawOnChartArea: false } });
    c.series.forEach(function (s, i) {
      var color = palette[(s.color !== undefined ? s.color : i) % palette.length];
      datasets.push({ label: s.name, data: points(s.points), yAxisID: s.axis || 'y', borderColor: color,
                      backgroundColor: color, borderDash: s.dash ? [6, 4] : [], borderWidth: 2,
                      pointRadius: s.points.length > 60 ? 0 : 3, spanGaps: false, showLine: true, tension: 0,
                      stepped: s.stepped ? 'before' : false });
    });
    if (c.marks && c.marks.length) {
      c.marks.forEach(function (m) {
        var ds = { label: m.name, data: points(m.points), texts: m.texts, showLine: false,
                   pointStyle: m.style, pointRadius: m.style === 'star' ? 12 : 8, pointHoverRadius: 10,
                   borderColor: m.color, backgroundColor: m.color, borderWidth: 2 };
        if (m.axis === 'invalid') {
          // Invalid points sit on an axis of their own, drawn nowhere: their
          // height means nothing, so no figure can be read off them.
          ds.yAxisID = 'invalid';
          scales.invalid = { display: false, min: 0, max: 1 };
        } else {
          ds.yAxisID = m.axis || 'y';
        }
        datasets.push(ds);
      });
    }
    return { type: 'line', data: { datasets: datasets }, options: common(c, scales) };
  }

  function categoryConfig(c) {
    var datasets = c.series.map(function (s, i) {
      var color = palette[i % palette.length];
      return { label: s.name, data: s.values, borderColor: color, backgroundColor: color, borderWidth: 2,
               pointRadius: 3, spanGaps: false, tension: 0 };
    });
    var scales = { x: { type: 'category', labels: c.categories, title: { display: !!c.x.title, text: c.x.title } },
                   y: axis(c.y, 'left') };
    return { type: 'line', data: { labels: c.categories, datasets: datasets }, options: common(c, scales) };
  }

  function common(c, scales) {
    return {
      animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: scales,
      plugins: {
        title: { display: true, text: c.title },
        legend: { position: 'bottom', labels: { boxWidth: 14 } },
        tooltip: { callbacks: { label: function (ctx) {
          var ds = ctx.dataset;
          if (ds.texts) return ds.texts[ctx.dataIndex];
          var raw = ctx.raw;
          if (raw && typeof raw === 'object') return ds.label + ': ' + raw.y + ' at ' + raw.x;
          return ds.label + ': ' + ctx.formattedValue;
        } } }
      }
    };
  }

  data.charts.forEach(function (c) {
    var canvas = document.getElementById(c.canvas);
    if (!canvas) return;
    if (typeof Chart === 'undefined') {
      problem(canvas, 'The chart library did not load: this chart cannot be drawn.');
      return;
    }
    try {
      new Chart(canvas.getContext('2d'), c.kind === 'category' ? categoryConfig(c) : xyConfig(c));
    } catch (e) {
      problem(canvas, 'This chart could not be drawn: ' + e.message);
      throw e;
    }
  });
}());
