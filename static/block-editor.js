/* Timeline Bridge content-block editor (notes §6.2): a form's blocks as controls, a live check and a preview.
   Vanilla JS, no build step; any page that includes it gets window.TbBlockEditor.attach(form). The editor
   keeps textarea#tb-layout (the form field `layout`) in step, so the form also works without JavaScript. */
(function () {
  'use strict';

  var SIMPLE = ['text', 'link', 'deadline'];
  var SIZES = ['', 'xs', 'sm', 'md'];
  var COLORS = ['', 'base_50', 'base_60', 'base_70', 'base_90'];
  var ACTIONS = ['redirect', 'openRestApp', 'restEvent'];
  // The properties the editor offers per block type (notes §6.2); others in the JSON are kept as they are.
  var FIELDS = {
    text: [['value', 'textarea'], ['multiline', 'checkbox'], ['bold', 'checkbox'], ['size', 'select', SIZES],
      ['color', 'select', COLORS]],
    largeText: [['value', 'textarea']],
    link: [['text', 'text'], ['bold', 'checkbox'], ['action', 'action']],
    deadline: [['readonly', 'checkbox']],
    withTitle: [['title', 'text'], ['inline', 'checkbox'], ['block', 'block']],
    lineOfBlocks: [['blocks', 'blocks']]
  };
  var DEFAULTS = {
    text: function () { return { value: '' }; },
    largeText: function () { return { value: '' }; },
    link: function () { return { text: '', action: { type: 'redirect', uri: '/' } }; },
    deadline: function () { return {}; },
    withTitle: function () { return { title: '', block: { type: 'text', properties: { value: '' } } }; },
    lineOfBlocks: function () { return { blocks: { t1: { type: 'text', properties: { value: '' } } } }; }
  };

  function fit() {
    if (window.BX24 && typeof window.BX24.fitWindow === 'function') { window.BX24.fitWindow(); }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  var counter = 0;
  function uid(prefix) { counter += 1; return prefix + '-' + counter; }

  function freeKey(keys, prefix) {
    var n = 1;
    while (keys.indexOf(prefix + n) !== -1) { n += 1; }
    return prefix + n;
  }

  function Editor(form) {
    this.form = form;
    this.texts = JSON.parse(document.getElementById('tb-editor-texts').textContent);
    this.textarea = document.getElementById('tb-layout');
    this.list = document.getElementById('tb-editor');
    this.problems = document.getElementById('tb-problems');
    this.preview = document.getElementById('tb-preview');
    this.ok = document.getElementById('tb-blocks-ok');
    this.token = form.querySelector('input[name="page_token"]').value;
    this.timer = null;
    this.items = [];
    this.readTextarea();
    this.render();
    var self = this;
    document.getElementById('tb-block-add').addEventListener('click', function () {
      var type = document.getElementById('tb-block-type').value;
      self.items.push({ key: freeKey(self.items.map(function (i) { return i.key; }), 'b'),
        block: { type: type, properties: DEFAULTS[type]() } });
      self.changed(self.items.length - 1);
    });
    this.textarea.addEventListener('input', function () {
      if (self.readTextarea()) { self.render(); }
      self.schedule();
    });
  }

  Editor.prototype.readTextarea = function () {
    try {
      var data = JSON.parse(this.textarea.value || '{}');
      var blocks = (data && typeof data.blocks === 'object' && data.blocks) || {};
      this.items = Object.keys(blocks).map(function (key) { return { key: key, block: blocks[key] }; });
      return true;
    } catch (error) {
      return false;
    }
  };

  Editor.prototype.layout = function () {
    var blocks = {};
    this.items.forEach(function (item) { blocks[item.key] = item.block; });
    return { blocks: blocks };
  };

  Editor.prototype.changed = function (focusIndex, focusSelector) {
    this.textarea.value = JSON.stringify(this.layout(), null, 2);
    this.render();
    if (focusIndex !== undefined) {
      var row = this.list.children[focusIndex];
      var target = row && row.querySelector(focusSelector || 'select, input:not([disabled]), textarea');
      if (target && target.disabled) { target = row.querySelector('.tb-block-head button:not([disabled])'); }
      if (target) { target.focus(); }
    }
    this.schedule();
  };

  Editor.prototype.render = function () {
    var self = this;
    this.list.textContent = '';
    this.items.forEach(function (item, index) {
      var row = el('li', { 'class': 'tb-block', 'data-block-key': item.key });
      var head = el('div', { 'class': 'tb-block-head' });
      head.appendChild(el('span', { 'class': 'tb-block-name' }, item.key + ' · ' + (item.block && item.block.type)));
      head.appendChild(self.button(self.texts.up, 'tb-block-up', index === 0, function () {
        self.move(index, -1);
      }));
      head.appendChild(self.button(self.texts.down, 'tb-block-down', index === self.items.length - 1, function () {
        self.move(index, 1);
      }));
      head.appendChild(self.button(self.texts.remove, 'tb-block-remove', false, function () {
        self.items.splice(index, 1);
        self.changed(Math.min(index, self.items.length - 1), '.tb-block-remove');
        if (!self.items.length) { document.getElementById('tb-block-type').focus(); }
      }));
      row.appendChild(head);
      self.fields(row, item.block || {}, 'blocks.' + item.key);
      self.list.appendChild(row);
    });
    fit();
  };

  Editor.prototype.button = function (label, cls, disabled, onClick) {
    var button = el('button', { type: 'button', 'class': 'tb-btn tb-btn--light tb-btn--small ' + cls }, label);
    button.disabled = disabled;
    button.addEventListener('click', onClick);
    return button;
  };

  Editor.prototype.move = function (index, step) {
    var moved = this.items.splice(index, 1)[0];
    this.items.splice(index + step, 0, moved);
    this.changed(index + step, step < 0 ? '.tb-block-up' : '.tb-block-down');
  };

  // One block's properties as form controls; `path` is the block's path as app.layout reports problems.
  Editor.prototype.fields = function (container, block, path) {
    var self = this;
    block.properties = block.properties || {};
    var props = block.properties;
    (FIELDS[block.type] || []).forEach(function (spec) {
      var name = spec[0];
      var kind = spec[1];
      var fieldPath = path + '.properties.' + name;
      if (kind === 'block') {
        self.nested(container, props, fieldPath);
      } else if (kind === 'blocks') {
        self.line(container, props, fieldPath);
      } else if (kind === 'action') {
        self.action(container, props, fieldPath);
      } else {
        container.appendChild(self.control(name, kind, spec[2], props, name, fieldPath));
      }
    });
  };

  Editor.prototype.control = function (label, kind, options, holder, name, path) {
    var self = this;
    var id = uid('tb-f');
    var wrap = el('div', { 'class': 'tb-field tb-field--' + kind });
    var value = holder[name];
    var input;
    if (kind === 'select') {
      input = el('select', { id: id, 'class': 'tb-input' });
      options.forEach(function (option) {
        var node = el('option', { value: option }, option || '—');
        if ((value || '') === option) { node.selected = true; }
        input.appendChild(node);
      });
    } else if (kind === 'checkbox') {
      input = el('input', { id: id, type: 'checkbox' });
      input.checked = value === true;
    } else {
      input = el(kind === 'textarea' ? 'textarea' : 'input', { id: id, 'class': 'tb-input' });
      if (kind === 'textarea') { input.rows = 2; } else { input.type = 'text'; }
      if (value !== null && typeof value === 'object') {
        input.value = JSON.stringify(value); // a translated text: edited in the JSON below
        input.disabled = true;
      } else {
        input.value = value === undefined ? '' : value;
      }
    }
    input.setAttribute('data-path', path);
    input.addEventListener(kind === 'checkbox' || kind === 'select' ? 'change' : 'input', function () {
      if (kind === 'checkbox') {
        if (input.checked) { holder[name] = true; } else { delete holder[name]; }
      } else if (kind === 'select' && !input.value) {
        delete holder[name];
      } else {
        holder[name] = input.value;
      }
      self.textarea.value = JSON.stringify(self.layout(), null, 2);
      self.schedule();
    });
    var labelNode = el('label', { 'for': id }, label);
    if (kind === 'checkbox') { wrap.appendChild(input); wrap.appendChild(labelNode); } else {
      wrap.appendChild(labelNode); wrap.appendChild(input);
    }
    return wrap;
  };

  Editor.prototype.typeSelect = function (container, holder, name, path, types, makeDefault) {
    var self = this;
    var id = uid('tb-t');
    var wrap = el('div', { 'class': 'tb-field tb-field--select' });
    wrap.appendChild(el('label', { 'for': id }, name + ' · ' + this.texts.type));
    var select = el('select', { id: id, 'class': 'tb-input', 'data-path': path + '.type' });
    types.forEach(function (type) {
      var option = el('option', { value: type }, type);
      if (holder[name] && holder[name].type === type) { option.selected = true; }
      select.appendChild(option);
    });
    select.addEventListener('change', function () {
      holder[name] = makeDefault(select.value);
      self.changed();
    });
    wrap.appendChild(select);
    container.appendChild(wrap);
  };

  Editor.prototype.nested = function (container, props, path) {
    var box = el('div', { 'class': 'tb-nested' });
    this.typeSelect(box, props, 'block', path, SIMPLE, function (type) {
      return { type: type, properties: DEFAULTS[type]() };
    });
    this.fields(box, props.block || {}, path);
    container.appendChild(box);
  };

  Editor.prototype.line = function (container, props, path) {
    var self = this;
    var box = el('div', { 'class': 'tb-nested' });
    var children = props.blocks || {};
    props.blocks = children;
    Object.keys(children).forEach(function (key) {
      var child = el('div', { 'class': 'tb-child', 'data-block-key': key });
      var head = el('div', { 'class': 'tb-block-head' });
      head.appendChild(el('span', { 'class': 'tb-block-name' }, key + ' · ' + children[key].type));
      head.appendChild(self.button(self.texts.remove, 'tb-child-remove', false, function () {
        delete children[key];
        self.changed();
      }));
      child.appendChild(head);
      self.fields(child, children[key], path + '.' + key);
      box.appendChild(child);
    });
    var addId = uid('tb-c');
    var add = el('div', { 'class': 'tb-row-form' });
    var select = el('select', { id: addId, 'class': 'tb-input' });
    SIMPLE.forEach(function (type) { select.appendChild(el('option', { value: type }, type)); });
    add.appendChild(el('label', { 'for': addId, 'class': 'visually-hidden' }, this.texts.type));
    add.appendChild(select);
    add.appendChild(self.button(self.texts.add, 'tb-child-add', false, function () {
      var key = freeKey(Object.keys(children), select.value.charAt(0));
      children[key] = { type: select.value, properties: DEFAULTS[select.value]() };
      self.changed();
    }));
    box.appendChild(add);
    container.appendChild(box);
  };

  Editor.prototype.action = function (container, props, path) {
    var box = el('div', { 'class': 'tb-nested' });
    props.action = props.action || { type: 'redirect', uri: '/' };
    this.typeSelect(box, props, 'action', path, ACTIONS, function (type) {
      if (type === 'redirect') { return { type: type, uri: '/' }; }
      if (type === 'restEvent') { return { type: type, id: 'action' }; }
      return { type: type };
    });
    if (props.action.type === 'redirect') {
      box.appendChild(this.control('uri', 'text', null, props.action, 'uri', path + '.uri'));
    } else if (props.action.type === 'restEvent') {
      box.appendChild(this.control('id', 'text', null, props.action, 'id', path + '.id'));
    }
    container.appendChild(box);
  };

  Editor.prototype.schedule = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.check(); }, 300);
  };

  // Ask the app whether the portal would accept the layout; show the problems by path and the preview.
  Editor.prototype.check = function () {
    var self = this;
    var layout;
    try {
      layout = JSON.parse(this.textarea.value);
    } catch (error) {
      self.show({ ok: false, problems: [{ path: '', code: 'WRONG_FIELD_VALUE', message: 'not JSON' }], preview: '' });
      return;
    }
    var body = JSON.stringify({ layout: layout, lang: this.texts.lang,
      deadline: this.form.getAttribute('data-deadline') || '' });
    window.fetch(this.form.getAttribute('data-check-url'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Page-Token': this.token },
      body: body,
      credentials: 'omit'
    }).then(function (response) { return response.json(); })
      .then(function (answer) { self.show(answer); })
      .catch(function () { /* the server checks again on save */ });
  };

  Editor.prototype.show = function (answer) {
    var self = this;
    this.problems.textContent = '';
    this.form.querySelectorAll('[aria-invalid="true"]').forEach(function (node) {
      node.removeAttribute('aria-invalid');
    });
    (answer.problems || []).forEach(function (problem) {
      var item = el('li', { 'data-path': problem.path, 'class': 'tb-problem-item' });
      item.appendChild(el('code', {}, problem.path || 'layout'));
      item.appendChild(document.createTextNode(': ' + problem.message));
      self.problems.appendChild(item);
      self.form.querySelectorAll('[data-path]').forEach(function (node) {
        if (node.tagName !== 'LI' && node.getAttribute('data-path') === problem.path) {
          node.setAttribute('aria-invalid', 'true');
        }
      });
    });
    if (answer.message) { this.problems.appendChild(el('li', { 'class': 'tb-problem-item' }, answer.message)); }
    this.ok.hidden = !answer.ok;
    if (answer.ok) { this.preview.innerHTML = answer.preview; } // rendered and escaped by the app's template
    fit();
  };

  window.TbBlockEditor = { attach: function (form) { return new Editor(form); } };
}());
