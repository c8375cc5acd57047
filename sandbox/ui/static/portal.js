/* Portal page behaviour: the app slider (form POST into the iframe, notes §1.2), the parent side of the BX24
   postMessage protocol (getInitData, installFinish §1.3, resize, close, callMethod), menus, timeline actions. */
(function () {
  'use strict';
  var slider = document.getElementById('app-slider');
  var backdrop = document.getElementById('app-slider-backdrop');
  var frame = document.getElementById('app-frame');
  var message = document.getElementById('app-slider-message');
  var titleEl = document.getElementById('app-slider-title');
  var labelEl = document.getElementById('app-slider-label');
  var closeBtn = document.getElementById('app-slider-close');
  var current = null;  // {sid, init, clientId, request, options}
  var opener = null;

  function postJson(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function showSlider(options) {
    opener = document.activeElement;
    titleEl.textContent = options.title || 'Application';
    labelEl.hidden = !options.label;
    labelEl.textContent = options.label || '';
    slider.style.width = options.width ? Math.min(options.width, window.innerWidth) + 'px' : '';
    slider.hidden = false;
    backdrop.hidden = false;
    slider.setAttribute('aria-hidden', 'false');
    slider.dataset.state = 'loading';
    message.hidden = true;
    frame.hidden = false;
    frame.style.height = '';
    closeBtn.focus();
  }

  function closeSlider() {
    if (slider.hidden) { return; }
    slider.hidden = true;
    backdrop.hidden = true;
    slider.setAttribute('aria-hidden', 'true');
    slider.dataset.state = 'closed';
    frame.src = 'about:blank';
    current = null;
    if (slider.dataset.installed === 'Y') {
      // the page behind still shows "Not installed" and no placements: load it again without ?open_app
      window.location.replace(window.location.pathname);
      return;
    }
    if (opener && opener.focus) { opener.focus(); }
  }

  function showMessage(text) {
    message.textContent = text;
    message.hidden = false;
    frame.hidden = true;
    slider.dataset.state = 'message';
  }

  // notes §1.2: a browser-submitted <form method="POST" target=frame> with the query on the action URL
  function submitFrame(data) {
    var form = document.createElement('form');
    form.method = 'POST';
    form.action = data.url;
    form.target = frame.name;
    form.id = 'app-frame-form';
    Object.keys(data.fields).forEach(function (name) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = data.fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
    document.body.removeChild(form);
    slider.dataset.state = 'open';
    slider.dataset.appSid = data.app_sid;
    slider.dataset.installer = data.installer ? 'Y' : 'N';
  }

  function openApp(request, options) {
    options = options || {};
    showSlider(options);
    return postJson('/_ui/frame', request).then(function (res) {
      if (!res.ok) { showMessage(res.data.error || 'The application cannot be opened'); return; }
      if (!options.title) { titleEl.textContent = res.data.title; }
      current = { sid: res.data.app_sid, init: res.data.init, clientId: res.data.client_id, request: request, options: options };
      submitFrame(res.data);
    });
  }

  function callRest(params) {
    var body = Object.assign({}, params.params || {}, { auth: params.auth });
    return fetch('/rest/' + encodeURIComponent(params.method), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { status: response.status, answer: answer };
      });
    });
  }

  function setHeight(params) {
    var height = parseInt(params.height, 10);
    if (height > 0) { frame.style.height = height + 'px'; }
    return { width: params.width, height: height };
  }

  var commands = {
    getInitData: function () { return current.init; },
    installFinish: function () {
      var state = current;
      return postJson('/_ui/bx24/install-finish', { client_id: state.clientId }).then(function (res) {
        if (!res.ok) { showMessage(res.data.error || 'The installation could not be finished'); return false; }
        slider.dataset.installed = 'Y';
        // notes §1.3: the parent reloads the page, now into the main URL
        setTimeout(function () { openApp({ mode: 'app', client_id: state.clientId }, state.options); }, 0);
        return true;
      });
    },
    resizeWindow: setHeight,
    fitWindow: setHeight,
    closeApplication: function () { setTimeout(closeSlider, 0); return true; },
    reloadWindow: function () { var s = current; setTimeout(function () { openApp(s.request, s.options); }, 0); return true; },
    setTitle: function (params) { titleEl.textContent = params.title; return true; },
    callMethod: callRest
  };

  window.addEventListener('message', function (event) {
    if (!current || event.source !== frame.contentWindow) { return; }
    var msg = event.data;
    if (!msg || msg.bx24 !== true || (msg.sid && msg.sid !== current.sid)) { return; }
    var handler = commands[msg.cmd];
    slider.dataset.lastCommand = msg.cmd;
    var reply = function (result, error) {
      if (msg.cb && event.source) {
        event.source.postMessage({ bx24: true, cb: msg.cb, result: result, error: error || null }, event.origin);
      }
    };
    if (!handler) { reply(null, 'Unknown command ' + msg.cmd); return; }
    Promise.resolve().then(function () { return handler(msg.params || {}); })
      .then(function (result) { reply(result); }, function (error) { reply(null, String(error)); });
  });

  // ---- page wiring -------------------------------------------------------------------------------------------

  function toast(text) {
    var el = document.getElementById('notice');
    if (!el) {
      el = document.createElement('div');
      el.id = 'notice';
      el.className = 'notice';
      el.setAttribute('role', 'status');
      document.querySelector('main.page').prepend(el);
    }
    el.textContent = text;
  }

  function closeMenus(except) {
    document.querySelectorAll('.menu-button[aria-expanded="true"]').forEach(function (button) {
      if (button === except) { return; }
      button.setAttribute('aria-expanded', 'false');
      button.nextElementSibling.hidden = true;
    });
  }

  function menuItems(menu) { return Array.prototype.slice.call(menu.querySelectorAll('.menu-item')); }

  function toggleMenu(button) {
    var menu = button.nextElementSibling;
    var open = button.getAttribute('aria-expanded') !== 'true';
    closeMenus(button);
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    menu.hidden = !open;
    if (open && menuItems(menu).length) { menuItems(menu)[0].focus(); }
  }

  function sliderParams(el) {
    var params = {};
    try { params = JSON.parse(el.dataset.sliderParams || '{}'); } catch (e) { params = {}; }
    return { title: params.title, width: params.width, label: params.labelText };
  }

  function runAction(el) {
    var type = el.dataset.actionType;
    if (type === 'openRestApp') {
      var actionParams = {};
      try { actionParams = JSON.parse(el.dataset.actionParams || '{}'); } catch (e) { actionParams = {}; }
      openApp({
        mode: 'openRestApp', client_id: el.dataset.clientId, activity_id: el.dataset.activityId,
        owner_type_id: el.dataset.ownerTypeId, owner_id: el.dataset.ownerId, action_params: actionParams
      }, sliderParams(el));
    } else if (type === 'restEvent') {
      el.disabled = true;
      postJson('/_ui/activity/' + el.dataset.activityId + '/rest-event', {
        client_id: el.dataset.clientId, action_id: el.dataset.actionId,
        owner_type_id: el.dataset.ownerTypeId, owner_id: el.dataset.ownerId
      }).then(function (res) {
        var item = document.getElementById('activity-' + el.dataset.activityId);
        if (res.ok && el.dataset.animation && item) { item.classList.add('is-locked'); } else { el.disabled = false; }
        el.dataset.sent = res.ok ? String(res.data.sent) : 'error';
        toast(res.ok ? 'Sent to the application' : (res.data.error || 'The action failed'));
      });
    }
  }

  document.addEventListener('click', function (event) {
    var target = event.target.closest('button, a');
    if (!target) { closeMenus(null); return; }
    if (target === closeBtn) { closeSlider(); return; }
    if (target.classList.contains('menu-button')) { toggleMenu(target); return; }
    if (target.classList.contains('cb-more')) {
      var box = target.closest('.cb-large');
      var collapsed = box.dataset.collapsed === 'true';
      box.dataset.collapsed = collapsed ? 'false' : 'true';
      target.setAttribute('aria-expanded', collapsed ? 'true' : 'false');
      target.textContent = collapsed ? 'Show less' : 'Show more';
      return;
    }
    if (target.hasAttribute('data-open-app')) {
      openApp({ mode: 'app', client_id: target.dataset.clientId });
    } else if (target.classList.contains('js-open-activity')) {
      // notes §3.5: clicking a REST_APP activity opens the app's main page with view_activity options
      openApp({ mode: 'activity', activity_id: target.dataset.activityId });
    } else if (target.classList.contains('js-open-placement')) {
      openApp({
        mode: 'placement', placement: target.dataset.placement, handler: target.dataset.handler,
        client_id: target.dataset.clientId, activity_id: target.dataset.activityId,
        owner_type_id: target.dataset.ownerTypeId, owner_id: target.dataset.ownerId,
        uri: window.location.pathname + window.location.search
      }, { title: target.textContent.trim() });
    } else if (target.classList.contains('js-action') && target.dataset.actionType !== 'redirect') {
      event.preventDefault();
      runAction(target);
    } else {
      return;
    }
    closeMenus(null);
  });

  backdrop.addEventListener('click', closeSlider);
  frame.addEventListener('load', function () {
    if (current && slider.dataset.state === 'open') { slider.dataset.state = 'loaded'; }
  });

  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') {
      var openMenu = document.querySelector('.menu-button[aria-expanded="true"]');
      if (openMenu) { closeMenus(null); openMenu.focus(); return; }
      closeSlider();
      return;
    }
    var menu = event.target.closest && event.target.closest('.menu');
    if (menu && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      var items = menuItems(menu);
      var index = items.indexOf(event.target) + (event.key === 'ArrowDown' ? 1 : -1);
      items[(index + items.length) % items.length].focus();
    }
  });

  document.querySelectorAll('.cb-large').forEach(function (box) {
    var text = box.querySelector('.cb-large-text');
    if (text.scrollHeight <= text.clientHeight + 2) { box.querySelector('.cb-more').hidden = true; }
  });

  var auto = document.getElementById('auto-open');
  if (auto) { openApp({ mode: 'app', client_id: auto.dataset.clientId }); }

  window.SandboxPortal = { openApp: openApp, closeSlider: closeSlider };
})();
