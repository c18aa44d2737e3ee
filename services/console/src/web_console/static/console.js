// Search as you type: the list's results are fetched again as the person types, with the
// form's other filters, and the address follows so that the page can be shared or reloaded.
(function () {
  "use strict";
  function liveSearch(input) {
    var form = input.form;
    var target = document.getElementById(input.dataset.liveSearch);
    var timer = null;
    var latest = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var query = new URLSearchParams(new FormData(form));
        var asked = ++latest;
        history.replaceState(null, "", form.action + "?" + query.toString());
        query.set("partial", "1");
        fetch(form.action + "?" + query.toString(), { credentials: "same-origin" })
          .then(function (answer) { return answer.ok ? answer.text() : null; })
          .then(function (html) { if (html !== null && asked === latest) { target.innerHTML = html; } });
      }, 250);
    });
  }
  // A page that shows something still moving (a delivery pending, an import running)
  // reloads itself until it settles.
  function refreshWhilePending() {
    var marker = document.querySelector("[data-refresh-seconds]");
    if (marker) { setTimeout(function () { location.reload(); }, 1000 * Number(marker.dataset.refreshSeconds)); }
  }
  // The history's time slider shows the instant it points at before it is submitted.
  function timeSlider(slider) {
    var output = document.getElementById(slider.dataset.output);
    var times = JSON.parse(slider.dataset.times);
    function show() { output.textContent = times[Number(slider.value)] || ""; }
    slider.addEventListener("input", show);
    slider.addEventListener("change", function () { slider.form.submit(); });
    show();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-search]").forEach(liveSearch);
    document.querySelectorAll("[data-times]").forEach(timeSlider);
    refreshWhilePending();
  });
})();
