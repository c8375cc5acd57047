// Size the portal's slider to this page once BX24 has talked to the portal (a file: the CSP allows no inline script).
(function () {
  'use strict';
  if (window.BX24) { window.BX24.init(function () { window.BX24.fitWindow(); }); }
})();
