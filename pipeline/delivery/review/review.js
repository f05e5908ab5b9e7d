// The review page's one control: show or hide the platforms' safe zones over every player.
(function () {
  "use strict";
  var toggle = document.getElementById("safe-toggle");
  if (!toggle) { return; }
  function apply() { document.body.classList.toggle("no-safe", !toggle.checked); }
  toggle.addEventListener("change", apply);
  apply();
})();
