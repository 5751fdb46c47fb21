// Runs in <head> before paint so a stored theme choice never flashes the other theme.
(function () {
  try {
    var t = localStorage.getItem('rf-theme');
    if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
  } catch (e) {
    /* no storage: follow prefers-color-scheme */
  }
})();
