// notes §1.3: installFinish marks the app installed; the portal then reloads into the main page.
(function () {
  'use strict';
  var status = document.getElementById('finish-status');
  if (!window.BX24) { status.textContent = 'Could not reach Bitrix24 from this page: reopen the app to finish.'; return; }
  window.BX24.init(function () { window.BX24.installFinish(); status.textContent = 'Installation finished.'; });
})();
