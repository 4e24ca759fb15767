/* report.js: sorting, filtering, paging, tooltips and the scenario switch of the report
 * (geo/report/report_html.c writes the page and the data block this script reads). Plain
 * JavaScript, no library, no request of any kind. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var nm = data.metrics.length, nz = data.zones.length;
  var opts = data.options || {};
  var metricIndex = {};
  data.metrics.forEach(function (m, i) { metricIndex[m.field] = i; });
  var state = { view: 0, key: null, dir: 1, filter: '', page: 0, printing: false };

  /* The value of metric field of zone z in view v, null when missing. */
  function value(v, z, field) {
    var m = metricIndex[field];
    if (m === undefined) return null;
    var x = data.values[v][z * nm + m];
    return typeof x === 'number' ? x : null;
  }

  /* x with d decimals (toFixed: half away from zero) and thousands separators. */
  function fmt(x, d) {
    if (x === null || !isFinite(x)) return 'n/a';
    var s = Math.abs(x).toFixed(d), neg = x < 0 && Number(s) !== 0;
    var parts = s.split('.');
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + parts.join('.');
  }

  /* A metric's value as the table shows it. */
  function fmtMetric(m, x) {
    var mt = data.metrics[m];
    if (x === null) return '\u2013';
    return mt.percent ? fmt(100 * x, mt.decimals) + ' %' : fmt(x, mt.decimals);
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function zoneName(z) { return data.zones[z].name || data.zones[z].id; }

  function className(k) {
    return k !== null && k >= 1 && k <= data.classes.names.length ? data.classes.names[k - 1] : 'no data';
  }

  function classColor(k) {
    return k !== null && k >= 1 && k <= data.classes.colors.length ? data.classes.colors[k - 1] : opts.no_data_color;
  }

  /* ---- the table ---- */
  var table = document.getElementById('zones-table');
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filterInput = document.getElementById('filter');
  var pager = document.getElementById('pager');
  var rowCount = document.getElementById('row-count');
  var lowerNames = data.zones.map(function (z, i) { return String(zoneName(i)).toLocaleLowerCase(); });

  /* The zones of the active view, filtered and sorted: numbers numerically, names by
   * locale, missing values last whatever the direction, ties in the data's order. */
  function orderedZones() {
    var list = [];
    var f = state.filter.toLocaleLowerCase();
    for (var z = 0; z < nz; z++) if (!f || lowerNames[z].indexOf(f) !== -1) list.push(z);
    if (!state.key) return list;
    var dir = state.dir, v = state.view;
    if (state.key === 'name') {
      var collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
      list.sort(function (a, b) { return dir * collator.compare(zoneName(a), zoneName(b)) || a - b; });
      return list;
    }
    var m = metricIndex[state.key], vals = data.values[v];
    list.sort(function (a, b) {
      var x = vals[a * nm + m], y = vals[b * nm + m];
      var xm = typeof x !== 'number', ym = typeof y !== 'number';
      if (xm || ym) return xm === ym ? a - b : xm ? 1 : -1;
      return x === y ? a - b : dir * (x < y ? -1 : 1);
    });
    return list;
  }

  function rowHtml(z) {
    var v = state.view, vals = data.values[v];
    var h = '<tr data-zone="' + z + '"><th scope="row">' + esc(zoneName(z)) + '</th>';
    for (var m = 0; m < nm; m++) {
      var x = vals[z * nm + m];
      var has = typeof x === 'number';
      var cls = data.metrics[m].field === 'score_class';
      h += '<td data-value="' + (has ? String(x) : '') + '"' +
        (cls ? ' class="cls" title="' + esc(className(has ? x : null)) + '" style="--c:' + classColor(has ? x : null) + '"' : '') +
        '>' + (cls ? esc(className(has ? x : null)) : fmtMetric(m, has ? x : null)) + '</td>';
    }
    return h + '</tr>';
  }

  function renderTable() {
    var list = orderedZones();
    var rows = list, pages = 1;
    var note = document.querySelector('#table .print-note');
    note.hidden = !(state.printing && list.length > opts.print_rows);
    note.textContent = 'The print shows the first ' + fmt(opts.print_rows, 0) + ' of ' + fmt(list.length, 0) +
      ' zones in the table\'s order; the file holds them all.';
    if (state.printing) {
      rows = list.slice(0, opts.print_rows);
    } else if (opts.paged) {
      pages = Math.max(1, Math.ceil(list.length / opts.page_rows));
      if (state.page >= pages) state.page = pages - 1;
      rows = list.slice(state.page * opts.page_rows, (state.page + 1) * opts.page_rows);
    }
    var parts = new Array(rows.length);
    for (var i = 0; i < rows.length; i++) parts[i] = rowHtml(rows[i]);
    tbody.innerHTML = parts.join('');
    rowCount.textContent = list.length === nz ? nz + ' zones' : list.length + ' of ' + nz + ' zones';
    if (pager) {
      pager.querySelector('.page').textContent = 'page ' + (state.page + 1) + ' of ' + pages;
      pager.querySelector('.prev').disabled = state.page <= 0;
      pager.querySelector('.next').disabled = state.page >= pages - 1;
    }
  }

  function sortBy(th) {
    var key = th.getAttribute('data-key');
    if (state.key === key) state.dir = -state.dir;
    else { state.key = key; state.dir = 1; }
    heads.forEach(function (h) {
      h.setAttribute('aria-sort', h === th ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
    });
    state.page = 0;
    renderTable();
  }

  heads.forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th); });
    th.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ' || e.key === 'Spacebar') { e.preventDefault(); sortBy(th); }
    });
  });
  filterInput.addEventListener('input', function () {
    state.filter = filterInput.value;
    state.page = 0;
    renderTable();
  });
  if (pager) {
    pager.querySelector('.prev').addEventListener('click', function () { state.page--; renderTable(); });
    pager.querySelector('.next').addEventListener('click', function () { state.page++; renderTable(); });
  }

  /* Printing shows every row of the active view (up to options.print_rows) even when paged. */
  function printMode(on) {
    if (state.printing === on) return;
    state.printing = on;
    if (opts.paged) renderTable();
  }
  window.addEventListener('beforeprint', function () { printMode(true); });
  window.addEventListener('afterprint', function () { printMode(false); });
  if (window.matchMedia) {
    var mq = window.matchMedia('print');
    var onPrint = function (e) { printMode(e.matches); };
    if (mq.addEventListener) mq.addEventListener('change', onPrint); else if (mq.addListener) mq.addListener(onPrint);
  }

  /* ---- the map ---- */
  var svg = document.getElementById('zones-map');
  var paths = svg ? Array.prototype.slice.call(svg.querySelectorAll('path.zone')) : [];
  var images = svg ? Array.prototype.slice.call(svg.querySelectorAll('image.exposure')) : [];
  var tooltip = document.getElementById('tooltip');

  function zoneLabel(v, z) {
    return zoneName(z) + ': score ' + fmt(value(v, z, 'score_mean'), 2) + ', ' +
      className(value(v, z, 'score_class')) + ', rank ' + fmt(value(v, z, 'score_rank'), 0);
  }

  function recolour() {
    var v = state.view;
    for (var i = 0; i < paths.length; i++) {
      var p = paths[i], z = +p.getAttribute('data-zone');
      var fill = classColor(value(v, z, 'score_class'));
      if (p.getAttribute('fill') !== fill) p.setAttribute('fill', fill); /* repaints only what changes */
      p.setAttribute('aria-label', zoneLabel(v, z));
    }
    images.forEach(function (img) {
      img.style.display = img.getAttribute('data-view') === String(v) ? '' : 'none';
    });
  }

  /* The tooltip's lines for zone z: name, then the key figures of the active view. */
  function showTooltip(z, x, y) {
    var v = state.view;
    var lines = [
      ['Score', fmt(value(v, z, 'score_mean'), 2) + ' (' + className(value(v, z, 'score_class')) + ')'],
      ['Rank', fmt(value(v, z, 'score_rank'), 0) + ' of ' + nz],
      ['Arrivals', fmt(value(v, z, 'arrivals_total'), 0)],
      ['In flooded cells', fmt(value(v, z, 'arrivals_flooded'), 0)],
      ['Informal area', value(v, z, 'informal_area_share') === null ? 'n/a' : fmt(100 * value(v, z, 'informal_area_share'), 0) + ' %'],
      ['Water stress (0-5)', fmt(value(v, z, 'water_stress_mean'), 2)]
    ];
    var s = data.sensitivity && data.sensitivity[z];
    if (s && s.rank_p05 !== null && s.rank_p95 !== null)
      lines.splice(2, 0, ['5-95 % ranks', fmt(s.rank_p05, 0) + '-' + fmt(s.rank_p95, 0)]);
    var h = '<strong>' + esc(zoneName(z)) + '</strong><dl>';
    lines.forEach(function (l) { h += '<dt>' + esc(l[0]) + '</dt><dd>' + esc(l[1]) + '</dd>'; });
    tooltip.innerHTML = h + '</dl>';
    tooltip.hidden = false;
    var wrap = tooltip.parentNode.getBoundingClientRect();
    var left = x - wrap.left + 14, top = y - wrap.top + 14;
    if (left + tooltip.offsetWidth > wrap.width) left = Math.max(0, x - wrap.left - tooltip.offsetWidth - 14);
    tooltip.style.left = left + 'px';
    tooltip.style.top = top + 'px';
  }

  function hideTooltip() { if (tooltip) tooltip.hidden = true; }

  if (svg) {
    svg.addEventListener('mousemove', function (e) {
      var t = e.target;
      if (t.classList && t.classList.contains('zone')) showTooltip(+t.getAttribute('data-zone'), e.clientX, e.clientY);
      else hideTooltip();
    });
    svg.addEventListener('mouseleave', hideTooltip);
    paths.forEach(function (p) {
      p.addEventListener('focus', function () {
        var b = p.getBoundingClientRect();
        showTooltip(+p.getAttribute('data-zone'), b.left + b.width / 2, b.top + b.height / 2);
      });
      p.addEventListener('blur', hideTooltip);
      p.addEventListener('keydown', function (e) { if (e.key === 'Escape') hideTooltip(); });
    });
  }
  var showExposure = document.getElementById('show-exposure');
  if (showExposure && svg) {
    showExposure.addEventListener('change', function () { svg.classList.toggle('show-exposure', showExposure.checked); });
  }

  /* ---- the scenario switch ---- */
  var cards = document.querySelector('#top .cards');
  function setView(v) {
    state.view = v;
    hideTooltip();
    recolour();
    var title = data.views[v].title;
    table.caption.textContent = data.views.length > 1 ? 'Zones under ' + title : 'Zones';
    renderTable();
    var tpl = document.querySelector('#top template[data-view="' + v + '"]');
    if (cards && tpl) {
      cards.innerHTML = '';
      cards.appendChild(tpl.content.cloneNode(true));
    }
    document.querySelectorAll('.view-title').forEach(function (e) { e.textContent = title; });
  }
  var select = document.getElementById('scenario');
  if (select) select.addEventListener('change', function () { setView(+select.value); });

  /* a browser that restores form fields on reload (Firefox) shows the view and filter it kept */
  if (showExposure && svg) svg.classList.toggle('show-exposure', showExposure.checked);
  state.filter = filterInput.value;
  if (select && +select.value > 0 && +select.value < data.views.length) setView(+select.value);
  else renderTable();
})();
