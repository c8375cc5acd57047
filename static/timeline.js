/* Timeline Bridge activity page: small helpers, and the content-block editor (static/block-editor.js) attached
   to the page's blocks form. Vanilla JS, no build step. */
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
    confirmDelete();
    var form = document.getElementById('tb-blocks-form');
    if (form && window.TbBlockEditor) { window.TbBlockEditor.attach(form); }
    fit();
  });
}());
