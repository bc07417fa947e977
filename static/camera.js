// Selfie capture: camera preview, take / retake, then post a JPEG and swap in the server's answer.
(function () {
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function init(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    const video = root.querySelector("video");
    const canvas = root.querySelector("canvas");
    const take = root.querySelector("[data-take]");
    const retake = root.querySelector("[data-retake]");
    const send = root.querySelector("[data-send]");
    const status = root.querySelector("[data-status]");
    const fileInput = root.querySelector("input[type=file]");
    let blob = null;

    function show(el, on) { if (el) el.hidden = !on; }
    function say(text) { if (status) status.textContent = text; }

    async function start() {
      blob = null;
      show(canvas, false); show(video, true); show(take, true); show(retake, false); if (send) send.disabled = true;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        say(root.dataset.noCamera); show(take, false); return;
      }
      try {
        if (!video.srcObject) {
          video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: 640, height: 480 }, audio: false });
        }
        await video.play();
        say(root.dataset.ready_text || "");
      } catch (e) {
        say(root.dataset.noCamera); show(take, false);
      }
    }

    take && take.addEventListener("click", function () {
      canvas.width = video.videoWidth || 640;
      canvas.height = video.videoHeight || 480;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (b) { blob = b; if (send) send.disabled = false; }, "image/jpeg", 0.92);
      show(video, false); show(canvas, true); show(take, false); show(retake, true);
    });
    retake && retake.addEventListener("click", start);
    fileInput && fileInput.addEventListener("change", function () {
      blob = fileInput.files[0] || null; if (send) send.disabled = !blob;
    });

    send && send.addEventListener("click", async function () {
      if (!blob) return;
      send.disabled = true; say(root.dataset.sending);
      const body = new FormData();
      body.append("selfie", blob, "selfie.jpg");
      const response = await fetch(root.dataset.uploadUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      });
      const html = await response.text();
      const target = document.querySelector(root.dataset.target);
      if (video && video.srcObject) video.srcObject.getTracks().forEach(function (t) { t.stop(); });
      target.outerHTML = html;
      const fresh = document.querySelector(root.dataset.target);
      if (window.htmx && fresh) window.htmx.process(fresh);
      if (fresh) fresh.querySelectorAll("[data-camera]").forEach(init);
    });
    start();
  }

  function scan(scope) { (scope || document).querySelectorAll("[data-camera]").forEach(init); }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (event) { scan(event.target); });
})();
