/* Bluelamp public report form: a hashcash-style proof-of-work instead of a captcha.
   Finds a nonce such that SHA-256("<challenge>:<nonce>") starts with `bits` zero bits; the
   server checks it. Starts as soon as the page loads, so it is usually done by the time the
   form is filled in. Served as a file: the pages' CSP allows no inline script. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !window.crypto || !window.crypto.subtle) { return; }
  var bits = parseInt(form.getAttribute("data-bits") || "0", 10);
  var status = document.getElementById("pow-status");
  var encoder = new TextEncoder();

  function zeroBits(bytes) {
    var count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { count += 8; continue; }
      var b = bytes[i];
      while ((b & 0x80) === 0) { count += 1; b <<= 1; }
      return count;
    }
    return count;
  }

  async function solve(challenge) {
    for (var nonce = 0; ; nonce++) {
      var data = encoder.encode(challenge + ":" + nonce);
      var digest = new Uint8Array(await window.crypto.subtle.digest("SHA-256", data));
      if (zeroBits(digest) >= bits) { return String(nonce); }
    }
  }

  var work = bits > 0 ? solve(form.elements.pow_challenge.value) : Promise.resolve("0");
  work.then(function (nonce) {
    form.elements.pow_nonce.value = nonce;
    if (status) { status.textContent = "Ready to send."; }
  });

  form.addEventListener("submit", function (event) {
    if (form.elements.pow_nonce.value) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    if (status) { status.textContent = "Checking that you are a person, one moment…"; }
    work.then(function () { form.submit(); });
  });
})();
