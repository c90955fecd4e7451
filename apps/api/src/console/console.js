// Minimal incident queue view: the full analyst console is its own piece of work (issue 8).
(function () {
  var T = {
    vi: {
      token: 'Mã truy cập (token)',
      connect: 'Kết nối',
      claim: 'Nhận sự cố tiếp theo',
      created: 'Thời điểm (UTC+7)',
      severity: 'Mức độ',
      title: 'Sự cố',
      status: 'Trạng thái',
      alerts: 'Cảnh báo',
      assignee: 'Người xử lý',
      empty: 'Hàng đợi trống',
      denied: 'Token không hợp lệ',
      claimed: 'Đã nhận: ',
    },
    en: {
      token: 'Access token',
      connect: 'Connect',
      claim: 'Claim next incident',
      created: 'Created (UTC+7)',
      severity: 'Severity',
      title: 'Incident',
      status: 'Status',
      alerts: 'Alerts',
      assignee: 'Assignee',
      empty: 'Queue is empty',
      denied: 'Invalid token',
      claimed: 'Claimed: ',
    },
  };
  var lang = localStorage.getItem('citysoc.lang') || 'vi';
  var $ = function (id) {
    return document.getElementById(id);
  };
  function t(k) {
    return T[lang][k];
  }
  function render() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach(function (e) {
      e.textContent = t(e.getAttribute('data-i18n'));
    });
    document.querySelectorAll('[data-i18n-placeholder]').forEach(function (e) {
      e.placeholder = t(e.getAttribute('data-i18n-placeholder'));
    });
    $('lang').value = lang;
  }
  var fmt = new Intl.DateTimeFormat('vi-VN', {
    timeZone: 'Asia/Ho_Chi_Minh',
    dateStyle: 'short',
    timeStyle: 'medium',
  });
  function api(method, path) {
    return fetch(path, {
      method: method,
      headers: { Authorization: 'Bearer ' + (sessionStorage.getItem('citysoc.token') || '') },
    });
  }
  function cell(text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function load() {
    api('GET', '/api/v1/incidents?limit=100')
      .then(function (r) {
        if (r.status === 401) {
          $('msg').textContent = t('denied');
          return null;
        }
        return r.json();
      })
      .then(function (page) {
        if (!page) return;
        var rows = $('rows');
        rows.textContent = '';
        page.items.forEach(function (i) {
          var tr = document.createElement('tr');
          [
            cell(fmt.format(new Date(i.created_at))),
            cell(i.severity, 'sev-' + i.severity),
            cell(i.title),
            cell(i.status),
            cell(String(i.alert_count)),
            cell(i.assignee || ''),
          ].forEach(function (c) {
            tr.appendChild(c);
          });
          rows.appendChild(tr);
        });
      });
  }
  $('save').onclick = function () {
    sessionStorage.setItem('citysoc.token', $('token').value.trim());
    $('token').value = '';
    load();
  };
  $('claim').onclick = function () {
    api('POST', '/api/v1/incidents/claim')
      .then(function (r) {
        if (r.status === 204) {
          $('msg').textContent = t('empty');
          return null;
        }
        return r.json();
      })
      .then(function (i) {
        if (i && i.id) {
          $('msg').textContent = t('claimed') + i.title;
          keepClaim(i);
        }
        load();
      });
  };
  // A claim lapses unless renewed: renew at half its remaining time while this page is open.
  function keepClaim(i) {
    if (!i.claim_expires_at) return;
    var wait = Math.max(1000, (Date.parse(i.claim_expires_at) - Date.now()) / 2);
    setTimeout(function () {
      api('POST', '/api/v1/incidents/' + encodeURIComponent(i.id) + '/heartbeat').then(function (r) {
        if (r.status === 200)
          r.json().then(function (next) {
            if (next.status === 'acknowledged' || next.status === 'in_progress') keepClaim(next);
          });
      });
    }, wait);
  }
  $('lang').onchange = function () {
    lang = $('lang').value;
    localStorage.setItem('citysoc.lang', lang);
    render();
  };
  render();
  load();
  setInterval(load, 5000);
})();
