/* Timeline Bridge activity page: small helpers; the content-block editor is static/block-editor.js.
   Vanilla JS, no build step. */
(function () {
  'use strict';

  function fit() {
    if (window.BX24 && typeof window.BX24.fitWindow === 'function') { window.BX24.fitWindow(); }
  }

  function confirmDelete() {
    var form = document.getElementById('tb-delete');
    if (!form) { return; }
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) { event.preventDefault(); }
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    confirmDelete(); // the blocks form's editor attaches itself (static/block-editor.js)
    fit();
  });
}());
