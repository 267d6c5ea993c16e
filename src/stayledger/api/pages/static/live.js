// Live figures: fetch this page again every N seconds and swap in its figures, unless the reader paused it.
// Without script the page stays as it is and says so; no meta refresh (it reloads under a screen reader's feet).
(function () {
  "use strict";
  var region = document.getElementById("live-figures");
  var button = document.getElementById("live-toggle");
  var stamp = document.getElementById("live-updated");
  if (!region || !button || !stamp) { return; }
  var seconds = parseInt(region.getAttribute("data-refresh-seconds"), 10) || 30;
  var paused = false;
  document.getElementById("live-no-script").hidden = true;
  document.getElementById("live-controls").hidden = false;

  function show(text) { stamp.textContent = text; }

  button.addEventListener("click", function () {
    paused = !paused;
    button.setAttribute("aria-pressed", paused ? "true" : "false");
    button.textContent = paused ? button.getAttribute("data-resume") : button.getAttribute("data-pause");
    if (!paused) { update(); }
  });

  function update() {
    if (paused || document.visibilityState === "hidden") { return; }
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (!answer.ok || answer.redirected) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-figures");
        if (!fresh) { throw new Error("no figures in the answer"); }
        region.innerHTML = fresh.innerHTML;
        show(stamp.getAttribute("data-updated") + " " + new Date().toLocaleTimeString());
      })
      .catch(function (error) {
        show(stamp.getAttribute("data-failed") + " (" + error.message + ")");
      });
  }

  window.setInterval(update, seconds * 1000);
})();
