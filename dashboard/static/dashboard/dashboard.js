// Progress of file uploads sent with htmx (hx-post with hx-encoding="multipart/form-data"): the <progress>
// named by the form's data-progress attribute follows the bytes sent.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest ? event.target.closest("form[data-progress]") : null;
  if (!form || !event.detail.lengthComputable) return;
  var bar = document.getElementById(form.dataset.progress);
  if (bar) { bar.hidden = false; bar.value = (event.detail.loaded / event.detail.total) * 100; }
});
