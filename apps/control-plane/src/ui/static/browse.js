// restic-fleet snapshot pages (docs/browse.md): keyboard navigation of a folder, the "/" search
// shortcut, the restore dialog, the compare view's filters, and "working…" lines for slow queries.
(function () {
  'use strict';

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
  }

  function grid() {
    return document.querySelector('table.browse[role=grid]');
  }

  function rowsOf(table) {
    return Array.prototype.slice.call(table.querySelectorAll('tbody tr'));
  }

  function selectRow(table, row, focus) {
    rowsOf(table).forEach(function (r) {
      var on = r === row;
      r.setAttribute('aria-selected', on ? 'true' : 'false');
      r.tabIndex = on ? 0 : -1;
    });
    if (focus) {
      row.focus();
      row.scrollIntoView({ block: 'nearest' });
    }
  }

  function showBusy(id) {
    var line = document.getElementById(id);
    if (line) line.hidden = false;
  }

  function goUp(table) {
    var up = (table && table.getAttribute('data-parent')) || '';
    if (!up) {
      var link = document.querySelector('[data-up]');
      up = link ? link.getAttribute('href') : '';
    }
    if (!up) return false;
    showBusy('browse-busy');
    window.location.assign(up);
    return true;
  }

  function openRow(row) {
    var target = row.querySelector('[data-open]');
    if (!target) return;
    if (row.getAttribute('data-kind') === 'dir') showBusy('browse-busy');
    target.click();
  }

  document.addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
    if (document.querySelector('dialog[open]')) return;
    var active = document.activeElement;
    if (ev.key === '/' && !isTyping(active)) {
      var search = document.getElementById('browse-search');
      if (search) {
        ev.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    var table = grid();
    if (!table || isTyping(active)) return;
    var inGrid = !!(active && table.contains(active));
    // Keys act on the folder when it has focus, or when nothing else does.
    if (!inGrid && active && active !== document.body && active.id !== 'main') return;
    var rows = rowsOf(table);
    var current = table.querySelector('tbody tr[aria-selected=true]') || rows[0];
    var at = rows.indexOf(current);
    var next = null;
    switch (ev.key) {
      case 'ArrowDown':
      case 'j':
        next = rows[Math.min(rows.length - 1, at + 1)];
        break;
      case 'ArrowUp':
      case 'k':
        next = rows[Math.max(0, at - 1)];
        break;
      case 'Home':
        next = rows[0];
        break;
      case 'End':
        next = rows[rows.length - 1];
        break;
      case 'Enter':
        if (!current) return;
        ev.preventDefault();
        openRow(current);
        return;
      case 'Backspace':
      case 'h':
      case 'ArrowLeft':
        if (goUp(table)) ev.preventDefault();
        return;
      default:
        return;
    }
    if (!next) return;
    ev.preventDefault();
    selectRow(table, next, true);
  });

  document.addEventListener('click', function (ev) {
    var el = ev.target;
    if (!(el instanceof Element)) return;
    var close = el.closest('[data-close-dialog]');
    if (close) {
      var dialog = close.closest('dialog');
      if (dialog) dialog.close();
      return;
    }
    var filter = el.closest('[data-filter]');
    if (filter) {
      var group = filter.closest('[data-filter-target]');
      var table = group && document.getElementById(group.getAttribute('data-filter-target'));
      if (!table) return;
      var kind = filter.getAttribute('data-filter');
      group.querySelectorAll('[data-filter]').forEach(function (b) {
        b.setAttribute('aria-pressed', b === filter ? 'true' : 'false');
      });
      table.querySelectorAll('tbody tr').forEach(function (r) {
        r.hidden = kind !== 'all' && r.getAttribute('data-kind') !== kind;
      });
      return;
    }
    var table2 = grid();
    var row = table2 && el.closest('tbody tr');
    if (row && table2.contains(row)) {
      selectRow(table2, row, false);
      if (el.closest('[data-testid=dir-link]')) showBusy('browse-busy');
    }
  });

  // The restore dialog: its form arrives by htmx; the dialog opens when it does.
  document.addEventListener('htmx:afterSwap', function (ev) {
    var target = ev.detail && ev.detail.target;
    if (!target || target.id !== 'restore-dialog-body') return;
    var dialog = document.getElementById('restore-dialog');
    if (dialog && !dialog.open) dialog.showModal();
    var first = document.getElementById('restore-target');
    if (first) first.focus();
  });

  // A host with restic older than 0.17 gets its note next to the dry-run button.
  document.addEventListener('change', function (ev) {
    var el = ev.target;
    if (!(el instanceof HTMLSelectElement) || el.id !== 'restore-host') return;
    var form = el.closest('form');
    var note = form && form.querySelector('[data-old-restic]');
    if (!note) return;
    var option = el.options[el.selectedIndex];
    var text = option ? option.getAttribute('data-old-note') || '' : '';
    note.textContent = text;
    note.hidden = text === '';
  });

  // A preview shows what the choices at the time would restore; once they change, say it is out of date.
  function markPreviewStale(ev) {
    var el = ev.target;
    if (!(el instanceof Element) || !el.closest('.restore-form')) return;
    var preview = el.closest('.restore-form').querySelector('.restore-preview');
    if (!preview || preview.hasAttribute('data-stale')) return;
    preview.setAttribute('data-stale', '');
    var note = document.createElement('p');
    note.className = 'small stale-note';
    note.textContent = 'The choices changed since this preview; preview again to see what they restore.';
    preview.insertBefore(note, preview.firstChild);
  }
  document.addEventListener('input', markPreviewStale);
  document.addEventListener('change', markPreviewStale);

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (form instanceof HTMLFormElement && form.hasAttribute('data-busy'))
      showBusy(form.getAttribute('data-busy'));
  });

  // Back/forward restores the page from the cache: drop a "working…" line left from leaving it.
  window.addEventListener('pageshow', function () {
    ['browse-busy', 'compare-busy'].forEach(function (id) {
      var line = document.getElementById(id);
      if (line) line.hidden = true;
    });
  });

  document.addEventListener('DOMContentLoaded', function () {
    var table = grid();
    if (!table) return;
    // Arriving with ?select= (going up, or from a search hit) puts focus on that entry.
    if (/[?&]select=/.test(window.location.search)) {
      var row = table.querySelector('tbody tr[aria-selected=true]');
      if (row) selectRow(table, row, true);
    }
  });
})();
