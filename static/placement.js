/* Stamp placement on page thumbnails: a click sets the stamp's page and lower-left corner in PDF points.
 *
 * Each thumbnail (.page-thumb) carries the page's shown size in points (data-width, data-height). The click
 * point becomes the centre of a data-stamp-width × data-stamp-height box, clamped inside the page; the hidden
 * inputs page/x/y get the box's lower-left corner measured from the page's lower-left corner. The server
 * converts that to the page's own coordinates and clamps again. Works after HTMX swaps (htmx:load).
 */
(function () {
  "use strict";

  function clamp(value, low, high) {
    return Math.min(Math.max(value, low), Math.max(low, high));
  }

  function init(form) {
    if (form.dataset.placementReady) return;
    form.dataset.placementReady = "1";
    const stampW = parseFloat(form.dataset.stampWidth) || 240;
    const stampH = parseFloat(form.dataset.stampHeight) || 90;
    const input = (name) => form.querySelector('input[name="' + name + '"]');
    const readout = form.querySelector("#placement-readout");
    const area = form.querySelector("[data-visible-only]");

    function visible() {
      const chosen = form.querySelector('input[name="mode"]:checked');
      return !chosen || chosen.value === "visible";
    }

    function size(thumb) {
      const width = parseFloat(thumb.dataset.width), height = parseFloat(thumb.dataset.height);
      return { width: width, height: height, w: Math.min(stampW, width), h: Math.min(stampH, height) };
    }

    function draw() {
      form.querySelectorAll(".stamp-box").forEach((box) => box.remove());
      form.querySelectorAll(".page-thumb.chosen").forEach((t) => t.classList.remove("chosen"));
      if (area) area.hidden = !visible();
      if (!visible()) return;
      const thumb = form.querySelector('.page-thumb[data-page="' + input("page").value + '"]');
      if (!thumb) return;
      const s = size(thumb);
      const x = clamp(parseFloat(input("x").value) || 0, 0, s.width - s.w);
      const y = clamp(parseFloat(input("y").value) || 0, 0, s.height - s.h);
      const box = document.createElement("div");
      box.className = "stamp-box";
      box.style.left = (x / s.width) * 100 + "%";
      box.style.top = ((s.height - y - s.h) / s.height) * 100 + "%";
      box.style.width = (s.w / s.width) * 100 + "%";
      box.style.height = (s.h / s.height) * 100 + "%";
      box.setAttribute("aria-hidden", "true");
      thumb.appendChild(box);
      thumb.classList.add("chosen");
      if (readout) {
        readout.textContent = (readout.dataset.template || "Halaman {page}: x = {x} pt, y = {y} pt")
          .replace("{page}", parseInt(thumb.dataset.page, 10) + 1)
          .replace("{x}", Math.round(x)).replace("{y}", Math.round(y));
      }
    }

    function place(thumb, fx, fy) {
      // fx, fy: the point as fractions of the shown page, from its top-left corner.
      const s = size(thumb);
      const x = clamp(fx * s.width - s.w / 2, 0, s.width - s.w);
      const y = clamp((1 - fy) * s.height - s.h / 2, 0, s.height - s.h);
      input("page").value = thumb.dataset.page;
      input("x").value = x.toFixed(2);
      input("y").value = y.toFixed(2);
      const radio = form.querySelector('input[name="mode"][value="visible"]');
      if (radio) radio.checked = true;
      draw();
    }

    form.querySelectorAll(".page-thumb").forEach((thumb) => {
      thumb.addEventListener("click", (event) => {
        const image = thumb.querySelector("img");
        const rect = image.getBoundingClientRect();
        if (!rect.width || !rect.height) return;
        place(thumb, clamp((event.clientX - rect.left) / rect.width, 0, 1), clamp((event.clientY - rect.top) / rect.height, 0, 1));
      });
      thumb.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          place(thumb, 0.5, 0.5);
        }
      });
    });
    form.querySelectorAll('input[name="mode"]').forEach((radio) => radio.addEventListener("change", draw));
    draw();
  }

  function scan(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("form[data-placement]").forEach(init);
    if (root.matches && root.matches("form[data-placement]")) init(root);
  }

  document.addEventListener("DOMContentLoaded", () => scan(document));
  document.addEventListener("htmx:load", (event) => scan(event.target));
  if (document.readyState !== "loading") scan(document);
})();
