// Forms marked data-confirm ask before they are sent (account deletion, moderator actions).
// An external file: the pages carry no inline script, so a strict Content-Security-Policy holds.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
