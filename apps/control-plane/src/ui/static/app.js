// restic-fleet admin UI: theme toggle, CSRF header for htmx, copy buttons, login form.
(function () {
  'use strict';
  var THEME_KEY = 'rf-theme';

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (eq > 0 && parts[i].slice(0, eq).trim() === name)
        return decodeURIComponent(parts[i].slice(eq + 1).trim());
    }
    return '';
  }

  function currentTheme() {
    var set = document.documentElement.getAttribute('data-theme');
    if (set === 'light' || set === 'dark') return set;
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }

  function labelToggle(button) {
    var next = currentTheme() === 'dark' ? 'light' : 'dark';
    button.textContent = next === 'dark' ? 'Dark theme' : 'Light theme';
    button.setAttribute('aria-label', 'Switch to the ' + next + ' theme');
  }

  document.addEventListener('DOMContentLoaded', function () {
    var toggle = document.getElementById('theme-toggle');
    if (toggle) {
      labelToggle(toggle);
      toggle.addEventListener('click', function () {
        var next = currentTheme() === 'dark' ? 'light' : 'dark';
        document.documentElement.setAttribute('data-theme', next);
        try {
          localStorage.setItem(THEME_KEY, next);
        } catch (e) {
          /* private mode: theme lasts for this page */
        }
        labelToggle(toggle);
        document.dispatchEvent(new CustomEvent('rf:theme'));
      });
    }

    var login = document.getElementById('login-form');
    if (login) {
      login.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var error = document.getElementById('login-error');
        var button = login.querySelector('button[type=submit]');
        error.textContent = '';
        button.disabled = true;
        fetch('/api/auth/login', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ username: login.username.value, password: login.password.value }),
        })
          .then(function (res) {
            if (res.ok) {
              var next = login.getAttribute('data-next') || '/';
              window.location.assign(next.charAt(0) === '/' && next.charAt(1) !== '/' ? next : '/');
              return;
            }
            return res.json().then(
              function (body) {
                var msg = body && body.error && body.error.message ? body.error.message : 'Login failed';
                if (res.status === 401) msg = 'Wrong username or password.';
                if (res.status === 429)
                  msg =
                    'Too many attempts. ' + (body && body.error ? body.error.message : 'Wait and try again.');
                error.textContent = msg;
                button.disabled = false;
              },
              function () {
                error.textContent = 'Login failed (HTTP ' + res.status + ').';
                button.disabled = false;
              },
            );
          })
          .catch(function () {
            error.textContent = 'The control plane did not answer. Check your connection and try again.';
            button.disabled = false;
          });
      });
    }
  });

  // Every htmx write carries the session's CSRF token; forms also hold it as a hidden field.
  document.addEventListener('htmx:configRequest', function (ev) {
    var token = readCookie('rf_csrf');
    if (token) ev.detail.headers['x-csrf-token'] = token;
  });

  // htmx does not swap 4xx/5xx answers; show the server's explanation (an escaped fragment) above the page.
  function flash(html) {
    var main = document.getElementById('main');
    if (!main) return;
    var box = document.getElementById('flash');
    if (!box) {
      box = document.createElement('div');
      box.id = 'flash';
      box.setAttribute('role', 'alert');
      main.insertBefore(box, main.firstChild);
    }
    box.innerHTML = html;
    box.scrollIntoView({ block: 'nearest' });
  }
  document.addEventListener('htmx:responseError', function (ev) {
    var xhr = ev.detail.xhr;
    var type = xhr.getResponseHeader('content-type') || '';
    if (type.indexOf('text/html') === 0 && xhr.responseText) flash(xhr.responseText);
    else flash('<p class="notice bad">The request failed (HTTP ' + Number(xhr.status) + ').</p>');
  });
  document.addEventListener('htmx:sendError', function () {
    flash(
      '<p class="notice bad">The control plane did not answer. Check your connection; the page retries on its own.</p>',
    );
  });

  document.addEventListener('click', function (ev) {
    var target = ev.target;
    if (!(target instanceof Element)) return;
    var button = target.closest('[data-copy]');
    if (!button) return;
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source) return;
    var text = source.textContent || '';
    var done = function () {
      button.textContent = 'Copied';
      setTimeout(function () {
        button.textContent = 'Copy';
      }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext)
      navigator.clipboard.writeText(text).then(done, function () {});
    else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try {
        document.execCommand('copy');
        done();
      } catch (e) {
        /* selection stays for a manual copy */
      }
    }
  });
})();
