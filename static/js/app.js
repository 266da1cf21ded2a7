// Beckon's own script: what htmx does not do by itself. No inline script is
// allowed (the CSP), so every page loads this file; every page works without
// it too. It only listens: no page needs to call anything here.
(function () {
  'use strict';

  // htmx's configuration, set before htmx reads it when the document is
  // ready (this file is deferred after htmx): error answers are swapped too
  // (422 and 429 carry the form with its messages; the others a page or
  // fragment saying what went wrong, so a boosted link to a dead page shows
  // it instead of doing nothing), no inline styles are injected and nothing
  // is evaluated, so the strict Content-Security-Policy holds, and no page is
  // kept in the history cache. Set here rather than in a <meta> of every
  // page: it is the same on all of them, and here it is downloaded once.
  if (window.htmx) {
    Object.assign(window.htmx.config, {
      includeIndicatorStyles: false,
      allowEval: false,
      historyCacheSize: 0,
      responseHandling: [
        { code: '204', swap: false },
        { code: '[23]..', swap: true },
        { code: '422', swap: true },
        { code: '429', swap: true },
        { code: '[45]..', swap: true, error: true }
      ]
    });
  }

  // The page's status region (views.StatusRegion).
  function region(id) { return document.getElementById(id); }

  function clearStatus() {
    ['status', 'status-error'].forEach(function (id) {
      var r = region(id);
      if (r) { r.replaceChildren(); }
    });
  }

  function sayError(msg) {
    var r = region('status-error');
    if (!r) { return; }
    var p = document.createElement('p');
    p.textContent = msg;
    r.replaceChildren(p);
  }

  // Focus the first refused field in root: after a refused submit the
  // keyboard and the screen reader land on what needs fixing.
  function focusInvalid(root) {
    if (!root || !root.querySelector) { return false; }
    var el = root.matches && root.matches('[aria-invalid="true"]') ? root : root.querySelector('[aria-invalid="true"]');
    if (el) {
      el.focus();
      return true;
    }
    return false;
  }

  document.addEventListener('DOMContentLoaded', function () { focusInvalid(document); });

  // Each request: clear the last messages, mark the form busy and disable its
  // submit buttons, so a second click cannot send it twice.
  var pendingFocus = false;
  var disabled = new WeakMap();

  // A request the page makes by itself (a badge polling, hx-trigger
  // "every ...") is no new action: it leaves the messages alone.
  function byItself(elt) {
    var trigger = elt.getAttribute && elt.getAttribute('hx-trigger');
    return !!trigger && /^\s*every\s/.test(trigger);
  }

  document.addEventListener('htmx:beforeRequest', function (e) {
    var elt = e.detail.elt;
    if (byItself(elt)) { return; }
    clearStatus();
    pendingFocus = true;
    elt.setAttribute('aria-busy', 'true');
    var form = elt.tagName === 'FORM' ? elt : elt.closest && elt.closest('form');
    if (form) {
      var buttons = Array.prototype.filter.call(form.querySelectorAll('button, input[type=submit]'), function (b) {
        return b.type === 'submit' && !b.disabled;
      });
      buttons.forEach(function (b) { b.disabled = true; });
      disabled.set(elt, buttons);
    }
  });

  document.addEventListener('htmx:afterRequest', function (e) {
    var elt = e.detail.elt;
    elt.removeAttribute('aria-busy');
    (disabled.get(elt) || []).forEach(function (b) { b.disabled = false; });
    disabled.delete(elt);
  });

  document.addEventListener('htmx:afterSettle', function (e) {
    if (pendingFocus && focusInvalid(e.target)) { pendingFocus = false; }
  });

  // A request that never got an answer, or an error answer with nothing to
  // show: say so, where the page's messages go.
  // A request the page made by itself that fails says nothing: the badge
  // stays as it was and asks again, and no message appears that no action
  // of the member's caused.
  document.addEventListener('htmx:beforeSwap', function (e) {
    if (e.detail.xhr.status >= 400 && byItself(e.detail.elt)) { e.detail.shouldSwap = false; }
  });
  document.addEventListener('htmx:sendError', function (e) {
    if (byItself(e.detail.elt)) { return; }
    sayError('Could not reach the server: check your connection and try again. Nothing was changed.');
  });
  document.addEventListener('htmx:timeout', function () {
    sayError('The server took too long to answer. Try again in a moment.');
  });
  document.addEventListener('htmx:responseError', function (e) {
    if (byItself(e.detail.elt)) { return; }
    var xhr = e.detail.xhr;
    if (xhr && !xhr.responseText) {
      sayError('Something went wrong (' + xhr.status + '). Please try again.');
    }
  });

  // A form that changes many members asks first, with a sentence the server
  // wrote: data-confirm-template, with {amount} for the amount typed,
  // {invitations} for "invitation(s)" and {members} for the member count on
  // the closest [data-members]; data-confirm-on instead when its radio named
  // unlimited is on. An amount that is not a whole number is sent without
  // asking: the server refuses it next to the field.
  document.addEventListener('htmx:confirm', function (e) {
    var form = e.detail.elt;
    var tpl = form.getAttribute && form.getAttribute('data-confirm-template');
    if (!tpl) { return; }
    e.preventDefault();
    var choice = form.querySelector('[name=unlimited]:checked');
    var on = choice && choice.value === 'on';
    var amountField = form.querySelector('[name=amount]');
    var amount = amountField ? amountField.value.trim() : '';
    if (!on && !/^[0-9]{1,7}$/.test(amount)) {
      e.detail.issueRequest(true);
      return;
    }
    var n = Number(amount);
    var holder = form.closest('[data-members]');
    var members = holder ? Number(holder.getAttribute('data-members')) : NaN;
    var question = (on && form.getAttribute('data-confirm-on')) || tpl;
    question = question.replace('{amount}', n.toLocaleString('en-US'))
      .replace('{invitations}', n === 1 ? 'invitation' : 'invitations')
      .replace('{members}', isNaN(members) ? 'all' : members.toLocaleString('en-US'));
    if (window.confirm(question)) { e.detail.issueRequest(true); }
  });

  // Copy buttons (data-copy: the id of the field to copy), hidden without
  // this script. The field is selected either way, so that a browser that
  // refuses the clipboard leaves it ready for Ctrl+C.
  function showCopyButtons(root) {
    root.querySelectorAll('[data-copy]').forEach(function (b) { b.hidden = false; });
  }
  document.addEventListener('DOMContentLoaded', function () { showCopyButtons(document); });
  document.addEventListener('htmx:load', function (e) { showCopyButtons(e.target); });
  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('[data-copy]');
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute('data-copy'));
    if (!field) { return; }
    field.focus();
    field.select();
    function done(ok) { button.textContent = ok ? 'Copied' : 'Press Ctrl+C'; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(document.execCommand('copy')); });
    } else {
      done(document.execCommand('copy'));
    }
  });
})();
