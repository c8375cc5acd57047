/* Timeline Bridge pickers: choose a user or a CRM item by name instead of typing its number.
   Each div.tb-picker (templates/timeline/_picker.html) turns its text field into a WAI-ARIA combobox with
   list autocomplete (the APG "editable combobox" pattern): typing asks the app's search endpoint (the page
   token in a header, never in the URL), the arrows move through the listbox, Enter chooses, Escape closes
   (and clears when already closed). The chosen id goes into the hidden field the form posts; typing again
   clears it, so the server then takes the one match of the typed text, exactly as without JavaScript. */
(function () {
  'use strict';

  var DELAY = 200; // ms after the last key before asking: one request per pause, not per key

  function fit() {
    if (window.BX24 && typeof window.BX24.fitWindow === 'function') { window.BX24.fitWindow(); }
  }

  function Picker(root) {
    this.root = root;
    this.input = root.querySelector('.tb-picker-input');
    this.list = root.querySelector('[role="listbox"]');
    this.value = root.querySelector('[data-picker-value]');
    this.status = root.querySelector('[data-picker-status]');
    this.form = root.closest('form');
    this.token = this.form.querySelector('input[name="page_token"]').value;
    var lang = this.form.querySelector('input[name="lang"]');
    this.lang = lang ? lang.value : 'en';
    this.type = root.getAttribute('data-picker') === 'item' ? this.form.querySelector('[name="entity_type_id"]') : null;
    this.options = [];
    this.active = -1;
    this.timer = null;
    this.asked = 0;
    this.enhance();
  }

  Picker.prototype.enhance = function () {
    var input = this.input, self = this;
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', this.list.id);
    input.addEventListener('input', function () { self.value.value = ''; self.schedule(); });
    input.addEventListener('keydown', function (event) { self.key(event); });
    input.addEventListener('blur', function () { window.setTimeout(function () { self.close(); }, 150); });
    this.list.addEventListener('mousedown', function (event) { event.preventDefault(); }); // keep the focus
    this.list.addEventListener('click', function (event) {
      var option = event.target.closest('[role="option"]');
      if (option) { self.choose(Number(option.getAttribute('data-index'))); }
    });
    if (this.type && this.type.tagName === 'SELECT') {
      this.type.addEventListener('change', function () {
        self.value.value = '';
        self.input.value = '';
        self.close();
      });
    }
  };

  Picker.prototype.key = function (event) {
    var open = !this.list.hidden;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!open || !this.options.length) { this.search(); return; }
      this.move(event.key === 'ArrowDown' ? 1 : -1);
    } else if (event.key === 'Enter' && open && this.active >= 0) {
      event.preventDefault(); // choose; the next Enter sends the form
      this.choose(this.active);
    } else if (event.key === 'Escape') {
      if (open) { event.preventDefault(); this.close(); } else if (this.input.value) {
        event.preventDefault();
        this.input.value = '';
        this.value.value = '';
      }
    }
  };

  Picker.prototype.schedule = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.search(); }, DELAY);
  };

  Picker.prototype.search = function () {
    var self = this, asked = ++this.asked;
    var body = { q: this.input.value, lang: this.lang };
    if (this.type) { body.entity_type_id = this.type.value; }
    this.say(this.root.getAttribute('data-searching'));
    window.fetch(this.root.getAttribute('data-search-url'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Page-Token': this.token },
      body: JSON.stringify(body),
      credentials: 'omit'
    }).then(function (response) { return response.json(); })
      .then(function (answer) {
        if (asked !== self.asked) { return; } // a later search is under way
        if (answer.options) { self.show(answer.options); } else { self.close(); self.say(answer.message || ''); }
      })
      .catch(function () {
        if (asked === self.asked) { self.close(); self.say(self.root.getAttribute('data-failed')); }
      });
  };

  Picker.prototype.show = function (options) {
    var self = this;
    this.options = options;
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    this.list.textContent = '';
    options.forEach(function (option, index) { self.list.appendChild(self.item(option, index)); });
    if (!options.length) {
      this.close();
      this.say(this.root.getAttribute('data-none'));
      return;
    }
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.say(this.root.getAttribute('data-count').replace('{n}', String(options.length)));
    fit();
  };

  Picker.prototype.item = function (option, index) {
    var li = document.createElement('li');
    li.id = this.list.id + '-' + index;
    li.className = 'tb-picker-option';
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', 'false');
    li.setAttribute('data-index', String(index));
    li.setAttribute('data-id', String(option.id));
    li.appendChild(this.face(option));
    var text = document.createElement('span');
    text.className = 'tb-picker-text';
    var label = document.createElement('span');
    label.className = 'tb-picker-label';
    label.textContent = option.label; // text, never HTML: names come from the portal
    text.appendChild(label);
    if (option.detail) {
      var detail = document.createElement('span');
      detail.className = 'tb-picker-detail tb-muted tb-small';
      detail.textContent = option.detail;
      text.appendChild(detail);
    }
    li.appendChild(text);
    return li;
  };

  Picker.prototype.face = function (option) {
    if (this.root.getAttribute('data-picker') !== 'user') { return document.createTextNode(''); }
    if (option.avatar) {
      var img = document.createElement('img');
      img.className = 'tb-picker-avatar';
      img.alt = '';
      img.src = option.avatar; // the portal's own address, or https by a DNS name (app.timeline.pickers.avatar_url)
      return img;
    }
    var initials = document.createElement('span');
    initials.className = 'tb-picker-avatar tb-picker-initials';
    initials.setAttribute('aria-hidden', 'true');
    initials.textContent = option.label.split(/\s+/).map(function (w) { return w.charAt(0); }).join('').slice(0, 2);
    return initials;
  };

  Picker.prototype.move = function (step) {
    var count = this.options.length;
    this.active = this.active < 0 ? (step > 0 ? 0 : count - 1) : (this.active + step + count) % count;
    var nodes = this.list.querySelectorAll('[role="option"]');
    for (var i = 0; i < nodes.length; i += 1) {
      nodes[i].setAttribute('aria-selected', i === this.active ? 'true' : 'false');
    }
    var current = nodes[this.active];
    this.input.setAttribute('aria-activedescendant', current.id);
    if (current.scrollIntoView) { current.scrollIntoView({ block: 'nearest' }); }
  };

  Picker.prototype.choose = function (index) {
    var option = this.options[index];
    if (!option) { return; }
    this.value.value = String(option.id);
    this.input.value = option.label;
    this.close();
    this.say(option.label);
  };

  Picker.prototype.close = function () {
    var wasOpen = !this.list.hidden;
    this.list.hidden = true;
    this.active = -1;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    if (wasOpen) { fit(); }
  };

  Picker.prototype.say = function (words) { this.status.textContent = words; };

  document.querySelectorAll('.tb-picker[data-picker]').forEach(function (root) { return new Picker(root); });
}());
