// The portal's slider follows this page: one title (the app's name, body[data-app-title]) and the content's height
// after every change. BX24.fitWindow only grows the frame (it measures the document, never smaller than the frame),
// so, as the vendor's BX24.fitWindow page advises, the content's own box (<main>) is measured, by a ResizeObserver,
// and sent with BX24.resizeWindow(width, height). A file: the CSP allows no inline script.
(function () {
  'use strict';
  var BX24 = window.BX24;
  if (!BX24) { return; }
  var content = document.querySelector('main') || document.body;
  var sent = 0;

  function contentHeight() {
    var body = window.getComputedStyle(document.body);
    var margins = parseFloat(body.marginTop) + parseFloat(body.marginBottom);
    return Math.ceil(content.getBoundingClientRect().height + margins);
  }

  function fit() {
    var height = contentHeight();
    if (height === sent) { return; }
    sent = height;
    BX24.resizeWindow(document.documentElement.clientWidth, height);
  }

  BX24.init(function () {
    var title = document.body.getAttribute('data-app-title');
    if (title && typeof BX24.setTitle === 'function') { BX24.setTitle(title); }
    fit();
    if (window.ResizeObserver) { new window.ResizeObserver(fit).observe(content); }
  });
})();
