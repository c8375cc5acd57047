/* Timeline Bridge content-block editor (notes §6.2): a form's blocks as controls, a live check and a preview.
   Vanilla JS, no build step. Every div[data-block-editor] (templates/shared/_block_editor.html) gets one editor;
   its parts are found by data-be="…" inside it, so a page may hold several. The editor keeps the JSON textarea
   (the form field `layout`) in step, so the form also works without JavaScript. Words come from
   script#tb-editor-texts (app/timeline/editor.py): block types, properties and values named for people. */
(function () {
  'use strict';

  var SIMPLE = ['text', 'link', 'deadline'];
  var SIZES = ['', 'xs', 'sm', 'md'];
  var COLORS = ['', 'base_50', 'base_60', 'base_70', 'base_90'];
  var ACTIONS = ['redirect', 'openRestApp', 'restEvent'];
  // The properties the editor offers per block type (notes §6.2); others in the JSON are kept as they are.
  var FIELDS = {
    text: [['value', 'textarea'], ['multiline', 'checkbox'], ['bold', 'checkbox'], ['size', 'select', SIZES, 'sizes'],
      ['color', 'select', COLORS, 'colors']],
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
  var PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_.]*\s*\}\}/g;
  var SAMPLE = '/1'; // what the server fills placeholders with to check a template (app.activities.placeholders)

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

  // A redirect uri the app accepts (app.layout.checks.is_web_address): an http(s) URL with a host, or a portal
  // path such as /crm/deal/details/1/; nothing with spaces or backslashes, nothing scheme-relative.
  function isWebAddress(uri) {
    if (/[\s\\]/.test(uri)) { return false; }
    if (/^https?:/i.test(uri)) { return /^https?:\/\/([^\/?#@]*@)?[^\/?#@:]+(:\d+)?([\/?#]|$)/i.test(uri); }
    return uri.charAt(0) === '/' && uri.charAt(1) !== '/';
  }

  // A text box as tall as its lines (2 to 8), so a largeText's lines are all in sight.
  function fitRows(textarea) {
    textarea.rows = Math.min(8, Math.max(2, textarea.value.split('\n').length));
  }

  function blank(value) {
    if (typeof value === 'string') { return !value.trim(); }
    if (value && typeof value === 'object') {
      var texts = Object.keys(value).map(function (key) { return value[key]; });
      return texts.length > 0 && texts.every(function (text) { return typeof text === 'string' && !text.trim(); });
    }
    return false;
  }

  function Editor(root) {
    var self = this;
    this.root = root;
    this.form = root.closest('form');
    this.texts = JSON.parse(document.getElementById('tb-editor-texts').textContent);
    this.part = function (name) { return root.querySelector('[data-be="' + name + '"]'); };
    this.textarea = this.part('layout');
    this.list = this.part('list');
    this.problems = this.part('problems');
    this.preview = this.part('preview');
    this.ok = this.part('ok');
    this.fieldNames = JSON.parse(root.getAttribute('data-fields') || '[]');
    var tokenInput = this.form.querySelector('input[name="page_token"]');
    this.token = tokenInput ? tokenInput.value : '';
    this.timer = null;
    this.items = [];
    this.lastText = null;
    this.readTextarea();
    this.render();
    this.part('adder').hidden = false;
    if (this.fieldNames.length) { this.fieldPicker(); }
    this.part('add').addEventListener('click', function () {
      var type = self.part('type').value;
      self.items.push({ key: freeKey(self.items.map(function (i) { return i.key; }), 'b'),
        block: { type: type, properties: DEFAULTS[type]() } });
      self.changed(self.items.length - 1);
    });
    this.textarea.addEventListener('input', function () {
      if (self.readTextarea()) { self.render(); }
      self.schedule();
    });
    this.form.addEventListener('submit', function (event) { self.submitting(event); });
    var given = JSON.parse(root.getAttribute('data-problems') || '[]');
    if (given.length) { this.show({ ok: false, problems: given }); }
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

  Editor.prototype.word = function (table, key) {
    var words = this.texts[table] || {};
    return Object.prototype.hasOwnProperty.call(words, key) ? words[key] : key;
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
      var type = item.block && item.block.type;
      head.appendChild(el('span', { 'class': 'tb-block-name', 'data-block-type': String(type) },
        (index + 1) + '. ' + self.word('types', String(type))));
      head.appendChild(self.button(self.texts.up, 'tb-block-up', index === 0, function () {
        self.move(index, -1);
      }));
      head.appendChild(self.button(self.texts.down, 'tb-block-down', index === self.items.length - 1, function () {
        self.move(index, 1);
      }));
      head.appendChild(self.button(self.texts.remove, 'tb-block-remove', false, function () {
        self.items.splice(index, 1);
        self.changed(Math.min(index, self.items.length - 1), '.tb-block-remove');
        if (!self.items.length) { self.part('type').focus(); }
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
        container.appendChild(self.control(name, kind, spec[2], props, name, fieldPath, spec[3]));
      }
    });
  };

  Editor.prototype.control = function (name, kind, options, holder, key, path, words) {
    var self = this;
    var id = uid('tb-f');
    var wrap = el('div', { 'class': 'tb-field tb-field--' + kind, 'data-field-path': path });
    var value = holder[key];
    var input;
    if (kind === 'select') {
      input = el('select', { id: id, 'class': 'tb-input' });
      options.forEach(function (option) {
        var node = el('option', { value: option }, self.word(words, option));
        if ((value || '') === option) { node.selected = true; }
        input.appendChild(node);
      });
    } else if (kind === 'checkbox') {
      input = el('input', { id: id, type: 'checkbox' });
      input.checked = value === true;
    } else {
      input = el(kind === 'textarea' ? 'textarea' : 'input', { id: id, 'class': 'tb-input' });
      if (kind !== 'textarea') { input.type = 'text'; }
      if (value !== null && typeof value === 'object') {
        input.value = JSON.stringify(value); // a translated text: edited in the JSON below
        input.disabled = true;
        input.title = this.texts.translated;
      } else {
        input.value = value === undefined ? '' : value;
        input.addEventListener('focus', function () { self.lastText = input; });
        if (kind === 'textarea') {
          fitRows(input);
          input.addEventListener('input', function () { fitRows(input); });
        }
      }
    }
    input.setAttribute('data-path', path);
    input.addEventListener(kind === 'checkbox' || kind === 'select' ? 'change' : 'input', function () {
      if (kind === 'checkbox') {
        if (input.checked) { holder[key] = true; } else { delete holder[key]; }
      } else if (kind === 'select' && !input.value) {
        delete holder[key];
      } else {
        holder[key] = input.value;
      }
      self.textarea.value = JSON.stringify(self.layout(), null, 2);
      self.schedule();
    });
    var labelNode = el('label', { 'for': id }, this.word('props', name));
    if (kind === 'checkbox') { wrap.appendChild(input); wrap.appendChild(labelNode); } else {
      wrap.appendChild(labelNode); wrap.appendChild(input);
    }
    return wrap;
  };

  Editor.prototype.typeSelect = function (container, holder, name, path, types, words, makeDefault) {
    var self = this;
    var id = uid('tb-t');
    var wrap = el('div', { 'class': 'tb-field tb-field--select' });
    wrap.appendChild(el('label', { 'for': id }, this.word('props', name)));
    var select = el('select', { id: id, 'class': 'tb-input', 'data-path': path + '.type' });
    types.forEach(function (type) {
      var option = el('option', { value: type }, self.word(words, type));
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
    this.typeSelect(box, props, 'block', path, SIMPLE, 'types', function (type) {
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
      head.appendChild(el('span', { 'class': 'tb-block-name' }, self.word('types', String(children[key].type))));
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
    SIMPLE.forEach(function (type) { select.appendChild(el('option', { value: type }, self.word('types', type))); });
    add.appendChild(el('label', { 'for': addId, 'class': 'visually-hidden' }, this.texts.type));
    add.appendChild(select);
    add.appendChild(self.button(self.texts.add_child, 'tb-child-add', false, function () {
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
    this.typeSelect(box, props, 'action', path, ACTIONS, 'actions', function (type) {
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

  // "Insert a field": {{NAME}} at the cursor of the text last edited (rules and templates only).
  Editor.prototype.fieldPicker = function () {
    var self = this;
    var id = uid('tb-p');
    var row = el('div', { 'class': 'tb-row-form tb-field-picker' });
    row.appendChild(el('label', { 'for': id }, this.texts.field));
    var select = el('select', { id: id, 'class': 'tb-input', 'data-be': 'field', title: this.texts.field_hint });
    this.fieldNames.forEach(function (field) { // [NAME, its name for people]: the menu names, the text gets {{NAME}}
      select.appendChild(el('option', { value: field[0] }, field[1]));
    });
    row.appendChild(select);
    row.appendChild(this.button(this.texts.insert, 'tb-field-insert', false, function () {
      var input = self.lastText && self.root.contains(self.lastText) ? self.lastText : null;
      if (!input) { input = self.list.querySelector('input[type="text"]:not([disabled]), textarea:not([disabled])'); }
      if (!input) { return; }
      var text = '{{' + select.value + '}}';
      var start = input.selectionStart === null ? input.value.length : input.selectionStart;
      var end = input.selectionEnd === null ? start : input.selectionEnd;
      input.value = input.value.slice(0, start) + text + input.value.slice(end);
      input.focus();
      input.setSelectionRange(start + text.length, start + text.length);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }));
    this.part('adder').parentNode.insertBefore(row, this.part('adder').nextSibling);
  };

  // What the editor can tell before asking the server: empty texts, links that lead nowhere (both refused
  // by app.layout too). Placeholders count as the server's sample value.
  Editor.prototype.localProblems = function () {
    var self = this;
    var found = [];
    function sample(value) { return typeof value === 'string' ? value.replace(PLACEHOLDER, SAMPLE) : value; }
    function walk(block, path) {
      if (!block || typeof block !== 'object') { return; }
      var props = block.properties || {};
      if ((block.type === 'text' || block.type === 'largeText') && blank(props.value)) {
        found.push({ path: path + '.properties.value', code: 'FIELD_IS_REQUIRED', message: self.texts.text_empty });
      }
      if (block.type === 'link') {
        if (blank(props.text)) {
          found.push({ path: path + '.properties.text', code: 'FIELD_IS_REQUIRED', message: self.texts.text_empty });
        }
        var action = props.action || {};
        if (action.type === 'redirect' && typeof action.uri === 'string' && !isWebAddress(sample(action.uri))) {
          found.push({ path: path + '.properties.action.uri', code: 'WRONG_FIELD_VALUE',
            message: self.texts.link_invalid });
        }
      }
      if (block.type === 'withTitle') { walk(props.block, path + '.properties.block'); }
      if (block.type === 'lineOfBlocks' && props.blocks && typeof props.blocks === 'object') {
        Object.keys(props.blocks).forEach(function (key) {
          walk(props.blocks[key], path + '.properties.blocks.' + key);
        });
      }
    }
    this.items.forEach(function (item) { walk(item.block, 'blocks.' + item.key); });
    return found;
  };

  Editor.prototype.submitting = function (event) {
    var local = this.localProblems();
    if (!local.length) { return; }
    event.preventDefault();
    this.show({ ok: false, problems: local });
    var first = this.root.querySelector('[aria-invalid="true"]');
    if (first) { first.focus(); }
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
      self.show({ ok: false, problems: [{ path: '', code: 'WRONG_FIELD_VALUE', message: this.texts.not_json }] });
      return;
    }
    var local = this.localProblems();
    if (local.length) { this.show({ ok: false, problems: local }); return; }
    var body = JSON.stringify({ layout: layout, lang: this.texts.lang,
      deadline: this.root.getAttribute('data-deadline') || '' });
    window.fetch(this.root.getAttribute('data-check-url'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Page-Token': this.token },
      body: body,
      credentials: 'omit'
    }).then(function (response) { return response.json(); })
      .then(function (answer) { self.show(answer); })
      .catch(function () { /* the server checks again on save */ });
  };

  // The problems in the list and, each, right after the control it is about (aria-invalid, aria-describedby).
  Editor.prototype.show = function (answer) {
    var self = this;
    this.problems.textContent = '';
    this.root.querySelectorAll('.tb-field-problem').forEach(function (node) { node.remove(); });
    this.root.querySelectorAll('[aria-invalid="true"]').forEach(function (node) {
      node.removeAttribute('aria-invalid');
      node.removeAttribute('aria-describedby');
    });
    (answer.problems || []).forEach(function (problem) {
      var item = el('li', { 'data-path': problem.path, 'class': 'tb-problem-item' });
      item.appendChild(el('code', {}, problem.path || 'layout'));
      item.appendChild(document.createTextNode(': ' + problem.message));
      self.problems.appendChild(item);
      self.beside(problem);
    });
    if (answer.message) { this.problems.appendChild(el('li', { 'class': 'tb-problem-item' }, answer.message)); }
    this.ok.hidden = !answer.ok;
    if (answer.ok) { this.preview.innerHTML = answer.preview; } // rendered and escaped by the app's template
    fit();
  };

  Editor.prototype.beside = function (problem) {
    var control = null;
    this.list.querySelectorAll('[data-path]').forEach(function (node) {
      if (!control && node.getAttribute('data-path') === problem.path) { control = node; }
    });
    if (!control) { return; }
    var note = el('p', { 'class': 'tb-field-problem', id: uid('tb-fp') }, problem.message);
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', note.id);
    control.parentNode.appendChild(note);
  };

  window.TbBlockEditor = { attach: function (root) { return new Editor(root); } };
  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-block-editor]').forEach(function (root) { window.TbBlockEditor.attach(root); });
  });
}());
