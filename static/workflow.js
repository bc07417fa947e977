// New-workflow form: Enter in the signer search does not submit, signer rows move up or go, the next row is numbered.
// Listeners sit on the document, so they also serve the rows HTMX adds.
(function () {
  document.addEventListener("keydown", function (event) {
    if (event.target.id === "signer-q" && event.key === "Enter") event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-signer-up], [data-signer-remove]");
    if (!button) return;
    const row = button.closest("li");
    if (button.hasAttribute("data-signer-remove")) row.remove();
    else if (row.previousElementSibling) row.parentNode.insertBefore(row, row.previousElementSibling);
  });
  // The server presets the new row's position from how many rows the list already has.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.hasAttribute("data-add-signer")) {
      event.detail.parameters.n = document.querySelectorAll("#signers > li").length;
    }
  });
})();
