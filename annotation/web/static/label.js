// Keyboard-first labeling. The page is a plain form; this script moves a cursor over its
// cells (one row per response: rank, then the three scores), saves drafts as the
// annotator goes and counts the time spent on the item while the page is in view.
(function () {
  "use strict";

  const root = document.getElementById("label-root");
  const rulesPanel = document.getElementById("rules-panel");
  const RULES_KEY = "medloom.rules";

  function toggleRules(force) {
    const hidden = force === undefined ? !rulesPanel.classList.contains("closed") : !force;
    rulesPanel.classList.toggle("closed", hidden);
    document.body.classList.toggle("rules-closed", hidden);
    try { localStorage.setItem(RULES_KEY, hidden ? "closed" : "open"); } catch (e) { /* private mode */ }
  }
  try { if (localStorage.getItem(RULES_KEY) === "closed") toggleRules(false); } catch (e) { /* ignore */ }

  const form = document.getElementById("label-form");
  if (!form) {
    // No item in hand: Enter starts, R still opens the rules.
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const start = document.getElementById("start");
      if (event.key === "Enter" && start) { event.preventDefault(); start.form.requestSubmit(); }
      if (event.key === "r" || event.key === "R") { event.preventDefault(); toggleRules(); }
    });
    return;
  }

  const assignment = root.dataset.assignment;
  const csrf = root.dataset.csrf;
  const cells = Array.from(form.querySelectorAll("input.cell-input"));
  const columns = 1 + Math.max.apply(null, cells.map(function (c) { return Number(c.dataset.col); }));
  const corrected = document.getElementById("corrected");
  const secondsField = document.getElementById("seconds");
  const timer = document.getElementById("timer");
  const status = document.getElementById("draft-status");
  const skipForm = document.getElementById("skip-form");

  // Time on the item: counted while the page is visible and someone touched it in the last
  // five minutes, so a tab left open over lunch does not count as labeling.
  const IDLE_SECONDS = 300;
  let seconds = Number(root.dataset.seconds) || 0;
  let lastActivity = Date.now();
  function showTime() {
    const whole = Math.floor(seconds);
    timer.textContent = Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
    secondsField.value = seconds.toFixed(1);
  }
  ["keydown", "pointerdown", "wheel", "scroll"].forEach(function (type) {
    document.addEventListener(type, function () { lastActivity = Date.now(); }, { passive: true });
  });
  setInterval(function () {
    if (document.visibilityState === "visible" && Date.now() - lastActivity < IDLE_SECONDS * 1000) {
      seconds += 1;
      showTime();
    }
  }, 1000);
  showTime();

  // The cursor.
  let cursor = Math.max(0, cells.findIndex(function (c) { return c.value === ""; }));
  function moveTo(index) {
    cursor = Math.min(Math.max(index, 0), cells.length - 1);
    cells.forEach(function (c, i) { c.parentElement.classList.toggle("cursor", i === cursor); });
    const row = cells[cursor].closest(".response");
    form.querySelectorAll(".response").forEach(function (r) { r.classList.toggle("current", r === row); });
    cells[cursor].focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
  cells.forEach(function (cell, i) {
    cell.addEventListener("focus", function () { if (cursor !== i) moveTo(i); });
  });

  function flashCell(cell) {
    cell.parentElement.classList.remove("bad");
    void cell.offsetWidth;  // restart the animation
    cell.parentElement.classList.add("bad");
  }

  function setValue(cell, value) {
    cell.value = value;
    cell.parentElement.classList.toggle("filled", value !== "");
    scheduleDraft();
  }
  cells.forEach(function (c) { c.parentElement.classList.toggle("filled", c.value !== ""); });

  function toggleUnsafe(row) {
    const article = form.querySelector('.response[data-row="' + row + '"]');
    const box = article.querySelector(".unsafe-input");
    box.checked = !box.checked;
    article.classList.toggle("is-unsafe", box.checked);
    scheduleDraft();
  }
  form.querySelectorAll(".unsafe-input").forEach(function (box) {
    box.addEventListener("change", function () {
      box.closest(".response").classList.toggle("is-unsafe", box.checked);
      scheduleDraft();
    });
  });
  corrected.addEventListener("input", scheduleDraft);
  cells.forEach(function (c) { c.addEventListener("input", scheduleDraft); });

  // Drafts.
  let draftTimer = null;
  function labels() {
    const body = { ranks: {}, scores: {}, unsafe: [], corrected: corrected.value, seconds: seconds };
    form.querySelectorAll(".response").forEach(function (article) {
      const id = article.dataset.candidate;
      article.querySelectorAll("input.cell-input").forEach(function (cell) {
        if (cell.value === "") return;
        const value = Number(cell.value);
        if (cell.dataset.field === "rank") {
          body.ranks[id] = value;
        } else {
          body.scores[id] = body.scores[id] || {};
          body.scores[id][cell.dataset.field] = value;
        }
      });
      if (article.querySelector(".unsafe-input").checked) body.unsafe.push(id);
    });
    return body;
  }
  function scheduleDraft() {
    clearTimeout(draftTimer);
    status.textContent = "…";
    draftTimer = setTimeout(saveDraft, 600);
  }
  function saveDraft() {
    draftTimer = null;
    return fetch("/api/assignments/" + assignment + "/draft", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(labels()),
      credentials: "same-origin",
    }).then(function (response) {
      const now = new Date().toLocaleTimeString("zh-CN", { hour12: false });
      status.textContent = response.ok ? "草稿已保存 Draft saved " + now : "草稿未保存 Draft not saved (" + response.status + ")";
      status.classList.toggle("error", !response.ok);
    }).catch(function () {
      status.textContent = "草稿未保存：网络 Draft not saved: network";
      status.classList.add("error");
    });
  }

  function missing() {
    return cells.filter(function (c) { return c.value === ""; });
  }
  form.addEventListener("submit", function (event) {
    const empty = missing();
    if (empty.length) {
      event.preventDefault();
      status.textContent = "还有 " + empty.length + " 格未填 " + empty.length + " fields empty";
      status.classList.add("error");
      moveTo(cells.indexOf(empty[0]));
      flashCell(empty[0]);
      return;
    }
    clearTimeout(draftTimer);
    showTime();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Enter" && document.activeElement === corrected) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (document.activeElement === corrected) {
      if (event.key === "Escape") { event.preventDefault(); moveTo(cursor); }
      return;
    }
    const cell = cells[cursor];
    const key = event.key;
    if (/^[0-9]$/.test(key)) {
      event.preventDefault();
      const digit = Number(key);
      if (digit === 0) { setValue(cell, ""); return; }
      if (digit > Number(cell.dataset.max)) { flashCell(cell); return; }
      setValue(cell, String(digit));
      if (cursor < cells.length - 1) moveTo(cursor + 1);
      return;
    }
    const row = Math.floor(cursor / columns);
    switch (key) {
      case "ArrowRight": case "l": event.preventDefault(); moveTo(cursor + 1); break;
      case "ArrowLeft": case "h": event.preventDefault(); moveTo(cursor - 1); break;
      case "ArrowDown": case "j": event.preventDefault(); if (cursor + columns < cells.length) moveTo(cursor + columns); break;
      case "ArrowUp": case "k": event.preventDefault(); if (cursor - columns >= 0) moveTo(cursor - columns); break;
      case "Backspace": case "Delete": event.preventDefault(); setValue(cell, ""); break;
      case "x": case "X": event.preventDefault(); toggleUnsafe(row); break;
      case "c": case "C": event.preventDefault(); corrected.focus(); break;
      case "r": case "R": event.preventDefault(); toggleRules(); break;
      case "s": case "S": event.preventDefault(); skipForm.requestSubmit(); break;
      case "Enter": event.preventDefault(); form.requestSubmit(); break;
      case "Escape": event.preventDefault(); toggleRules(false); break;
      default: break;
    }
  });

  moveTo(cursor);
  root.dataset.ready = "1";  // keys work from here on (tests wait for it)
})();
