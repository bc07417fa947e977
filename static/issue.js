// Issuance page: live passphrase-rule feedback and the agreement that must be scrolled to the end.
// Listeners sit on the document, so they keep working after HTMX or the camera swap the page.
(function () {
  const rules = {
    length: (p) => p.length >= 8, lower: (p) => /[a-z]/.test(p), upper: (p) => /[A-Z]/.test(p),
    digit: (p) => /[0-9]/.test(p), special: (p) => /[^A-Za-z0-9\s]/.test(p), forbidden: (p) => !/[\[\]\^\\]/.test(p),
  };

  function update() {
    const input = document.getElementById("passphrase");
    const confirm = document.getElementById("confirmation");
    if (!input) return;
    document.querySelectorAll("#passphrase-rules li").forEach(function (li) {
      li.classList.toggle("ok", rules[li.dataset.rule](input.value));
    });
    const state = document.getElementById("confirmation-state");
    if (state && confirm) {
      state.textContent = confirm.value ? (confirm.value === input.value ? state.dataset.match : state.dataset.mismatch) : "";
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "passphrase" || event.target.id === "confirmation") update();
  });
  document.addEventListener("click", function (event) {
    if (event.target.id === "to-agreement") document.getElementById("step-agreement").hidden = false;
  });
  document.addEventListener("scroll", function (event) {
    const box = event.target;
    if (!box || box.id !== "agreement-text") return;
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 4) {
      document.getElementById("agreement").disabled = false;
      const hint = document.getElementById("agreement-hint");
      hint.textContent = hint.dataset.done;
    }
  }, true);
})();
