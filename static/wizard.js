// Activation wizard: the ASN / Non-ASN choice shows the matching service fields (the listener survives HTMX swaps).
(function () {
  document.addEventListener("change", function (event) {
    const radio = event.target;
    if (radio.name !== "employment" || !radio.closest("#wizard")) return;
    document.getElementById("asn").hidden = radio.value !== "ASN";
    document.getElementById("nonasn").hidden = radio.value === "ASN";
  });
})();
