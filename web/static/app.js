// app.js: the little every page needs. Times are shown in the browser's
// own zone, forms marked data-confirm ask first, and a container marked
// data-live="ms" refreshes its #live element from the same URL while the
// page is visible, so counts and run tables move while a flow runs.

export function localizeTimes(root = document) {
  for (const t of root.querySelectorAll('time[datetime]')) {
    const d = new Date(t.getAttribute('datetime'));
    if (!isNaN(d)) {
      t.title = t.textContent;
      t.textContent = d.toLocaleString();
    }
  }
}

export function csrf() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

function confirmForms() {
  document.addEventListener('submit', (e) => {
    const msg = e.target.dataset && e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) { e.preventDefault(); return; }
    isoTimes(e.target);
  });
}

// isoTimes fills each hidden input marked data-from="NAME" with the time
// of the datetime-local input NAME in the browser's own zone, as ISO 8601,
// so the server reads the time the person meant.
function isoTimes(form) {
  if (!form.querySelectorAll) return;
  for (const hidden of form.querySelectorAll('input[data-from]')) {
    const local = form.elements[hidden.dataset.from];
    const d = local && local.value ? new Date(local.value) : null;
    hidden.value = d && !isNaN(d) ? d.toISOString() : '';
  }
}

function live() {
  const box = document.querySelector('[data-live]');
  if (!box) return;
  const every = Number(box.dataset.live) || 3000;
  const tick = async () => {
    if (document.visibilityState === 'visible') {
      try {
        const res = await fetch(location.href, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
        if (res.ok) {
          const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
          const fresh = doc.querySelector('#live');
          const cur = document.querySelector('#live');
          if (fresh && cur && fresh.innerHTML !== cur.dataset.raw) {
            cur.dataset.raw = fresh.innerHTML;
            cur.innerHTML = fresh.innerHTML;
            localizeTimes(cur);
          }
        }
      } catch (_) { /* offline for a moment: try again next tick */ }
    }
    // A page whose live part says it is final (a finished job) stops.
    if (!document.querySelector('#live [data-final]')) setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

localizeTimes();
confirmForms();
live();
