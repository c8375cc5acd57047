/* BX24 shim served by the sandbox portal: the frame side of the portal <-> app postMessage protocol.
   Mirrors the subset of the vendor's BX24 JS library the app uses (notes §1.2 getInitData, §1.3 installFinish). */
(function (window) {
  'use strict';
  if (window.BX24) { return; }

  var query = (function () {
    var out = {};
    window.location.search.replace(/^\?/, '').split('&').forEach(function (pair) {
      if (!pair) { return; }
      var parts = pair.split('=');
      out[decodeURIComponent(parts[0])] = decodeURIComponent((parts[1] || '').replace(/\+/g, ' '));
    });
    return out;
  })();
  // notes §1.2: APP_SID links this frame to the parent page; DOMAIN/PROTOCOL name the portal
  var sid = query.APP_SID || '';
  var parentOrigin = query.DOMAIN ? ((query.PROTOCOL === '1' ? 'https://' : 'http://') + query.DOMAIN) : '*';
  var callbacks = {};
  var seq = 0;
  var initData = null;
  var initQueue = [];
  var initRequested = false;

  function send(cmd, params, cb) {
    var id = null;
    if (typeof cb === 'function') {
      id = 'cb' + (++seq);
      callbacks[id] = cb;
    }
    if (window.parent === window) { return; }
    window.parent.postMessage({ bx24: true, sid: sid, cmd: cmd, params: params || {}, cb: id }, parentOrigin);
  }

  window.addEventListener('message', function (event) {
    if (event.source !== window.parent) { return; }
    var msg = event.data;
    if (!msg || msg.bx24 !== true || !msg.cb || !callbacks[msg.cb]) { return; }
    var cb = callbacks[msg.cb];
    delete callbacks[msg.cb];
    cb(msg.result, msg.error);
  });

  function AjaxResult(answer, status, request) {
    this.answer = answer || {};
    this.status = status;
    this.query = request;
  }
  AjaxResult.prototype.data = function () { return this.answer.result; };
  AjaxResult.prototype.error = function () {
    if (!this.answer.error) { return false; }
    var ex = { error: this.answer.error, error_description: this.answer.error_description, status: this.status };
    ex.toString = function () { return ex.error + (ex.error_description ? ': ' + ex.error_description : ''); };
    return ex;
  };
  AjaxResult.prototype.total = function () { return this.answer.total || 0; };
  AjaxResult.prototype.more = function () { return typeof this.answer.next !== 'undefined'; };
  AjaxResult.prototype.next = function (cb) {
    if (!this.more()) { return false; }
    var params = Object.assign({}, this.query.params, { start: this.answer.next });
    BX24.callMethod(this.query.method, params, cb);
    return true;
  };

  var BX24 = {
    init: function (cb) {
      if (initData) { if (cb) { cb(); } return; }
      if (cb) { initQueue.push(cb); }
      if (initRequested) { return; }
      initRequested = true;
      send('getInitData', {}, function (data) {
        initData = data || {};
        var queue = initQueue.splice(0);
        queue.forEach(function (fn) { fn(); });
      });
    },
    installFinish: function () { send('installFinish', {}); },
    fitWindow: function (cb) {
      var height = Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);
      send('resizeWindow', { width: '100%', height: height }, cb);
    },
    resizeWindow: function (width, height, cb) { send('resizeWindow', { width: width, height: height }, cb); },
    closeApplication: function () { send('closeApplication', {}); },
    reloadWindow: function () { send('reloadWindow', {}); },
    setTitle: function (title, cb) { send('setTitle', { title: String(title) }, cb); },
    placement: {
      info: function () {
        return initData ? { placement: initData.PLACEMENT, options: initData.PLACEMENT_OPTIONS || {} } : { placement: '', options: {} };
      },
      call: function (command, params, cb) { send('placement.call', { command: command, params: params }, cb); }
    },
    getAuth: function () {
      if (!initData || !initData.AUTH_ID) { return false; }
      return {
        access_token: initData.AUTH_ID,
        refresh_token: initData.REFRESH_ID,
        expires_in: initData.AUTH_EXPIRES,
        domain: initData.DOMAIN,
        member_id: initData.MEMBER_ID
      };
    },
    refreshAuth: function (cb) { if (cb) { cb(BX24.getAuth()); } },
    getLang: function () { return initData ? initData.LANG : (query.LANG || 'en'); },
    getDomain: function () { return initData ? initData.DOMAIN : (query.DOMAIN || ''); },
    isAdmin: function () { return !!(initData && initData.IS_ADMIN); },
    callMethod: function (method, params, cb) {
      var request = { method: method, params: params || {} };
      var run = function () {
        send('callMethod', { method: method, params: request.params, auth: initData.AUTH_ID }, function (res, error) {
          var result = new AjaxResult(res ? res.answer : { error: 'NETWORK_ERROR', error_description: String(error) },
            res ? res.status : 0, request);
          if (cb) { cb(result); }
        });
      };
      if (initData) { run(); } else { BX24.init(run); }
    }
  };
  window.BX24 = BX24;
})(window);
