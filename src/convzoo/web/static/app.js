// convzoo explorer: table sorting and filtering, the receptive-field view, the compare
// picks and the drawing pad. Plain JavaScript, no libraries.
"use strict";

function $(id) { return document.getElementById(id); }

// index: sort by a header click, filter by name and family
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var down = th.dataset.dir !== "up"; th.dataset.dir = down ? "up" : "down";
      var num = th.dataset.type === "num";
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.value || a.cells[col].textContent;
        var y = b.cells[col].dataset.value || b.cells[col].textContent;
        var c = num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return down ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
function filterModels() {
  var text = $("filter").value.toLowerCase(), family = $("family").value, shown = 0;
  document.querySelectorAll("#models tbody tr").forEach(function (tr) {
    var ok = tr.dataset.name.indexOf(text) >= 0 && (!family || tr.dataset.family === family);
    tr.hidden = !ok; shown += ok ? 1 : 0;
  });
  $("shown").textContent = shown + " shown";
}
if ($("filter")) {
  $("filter").addEventListener("input", filterModels);
  $("family").addEventListener("change", filterModels);
  filterModels();
}

// model page: the theoretical receptive field of one unit of the picked layer
var rfRow = null, rfUnit = null;
function nums(s) { return s.split(",").map(parseFloat); }
function drawField() {
  var svg = $("rf-input"), H = +$("rf").dataset.h, W = +$("rf").dataset.w;
  if (!rfRow) return;
  var size = nums(rfRow.dataset.size), jump = nums(rfRow.dataset.jump);
  var start = nums(rfRow.dataset.start), out = nums(rfRow.dataset.out);
  var unit = rfUnit || [Math.floor(out[0] / 2), Math.floor(out[1] / 2)];
  var cy = start[0] + unit[0] * jump[0], cx = start[1] + unit[1] * jump[1];
  var y0 = cy - size[0] / 2, x0 = cx - size[1] / 2;
  var cy0 = Math.max(0, y0), cx0 = Math.max(0, x0);
  var cy1 = Math.min(H, y0 + size[0]), cx1 = Math.min(W, x0 + size[1]);
  svg.innerHTML =
    '<rect x="' + x0 + '" y="' + y0 + '" width="' + size[1] + '" height="' + size[0] +
    '" fill="none" stroke="#c33" stroke-dasharray="2" vector-effect="non-scaling-stroke"/>' +
    '<rect x="' + cx0 + '" y="' + cy0 + '" width="' + Math.max(0, cx1 - cx0) + '" height="' +
    Math.max(0, cy1 - cy0) + '" fill="#c33" fill-opacity="0.3"/>' +
    '<circle cx="' + cx + '" cy="' + cy + '" r="' + Math.max(W, H) / 100 + '" fill="#000"/>';
  $("rf-text").textContent = rfRow.cells[0].textContent + ": unit (" + unit[0] + ", " + unit[1] +
    ") of " + out[0] + "x" + out[1] + " sees " + size.join("x") + " px around (" + cy + ", " + cx +
    ") of the " + H + "x" + W + " input";
}
document.querySelectorAll("tr.rf-row").forEach(function (tr) {
  tr.addEventListener("click", function () {
    if (rfRow) rfRow.classList.remove("picked");
    rfRow = tr; rfUnit = null; tr.classList.add("picked"); drawField();
  });
});
if ($("rf-input")) {
  $("rf-input").addEventListener("click", function (e) {
    if (!rfRow) return;
    var box = this.getBoundingClientRect(), H = +$("rf").dataset.h, W = +$("rf").dataset.w;
    var y = (e.clientY - box.top) / box.height * H, x = (e.clientX - box.left) / box.width * W;
    var jump = nums(rfRow.dataset.jump), start = nums(rfRow.dataset.start);
    var out = nums(rfRow.dataset.out);
    function pick(v, s, j, n) { return Math.min(n - 1, Math.max(0, Math.round((v - s) / j))); }
    rfUnit = [pick(y, start[0], jump[0], out[0]), pick(x, start[1], jump[1], out[1])];
    drawField();
  });
}

// compare: ticking a model shows or hides its dot; "draw" redraws with the ticked ones
document.querySelectorAll("input.pick").forEach(function (box) {
  box.addEventListener("change", function () {
    document.querySelectorAll('circle.point[data-model="' + box.value + '"]').forEach(
      function (c) { c.style.display = box.checked ? "" : "none"; });
    var picked = Array.from(document.querySelectorAll("input.pick:checked"));
    $("models-field").value = picked.map(function (b) { return b.value; }).join(",");
  });
});

// try a model: draw on the pad or upload a picture, POST it, show the top-k
if ($("pad")) {
  var pad = $("pad"), ctx = pad.getContext("2d"), drawing = false;
  function clearPad() { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height); }
  function at(e) { var b = pad.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
  clearPad();
  ctx.lineWidth = 18; ctx.lineCap = "round"; ctx.strokeStyle = "#fff";
  pad.addEventListener("pointerdown", function (e) {
    drawing = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
  });
  pad.addEventListener("pointermove", function (e) {
    if (!drawing) return; var p = at(e); ctx.lineTo(p[0], p[1]); ctx.stroke();
  });
  ["pointerup", "pointerleave"].forEach(function (ev) {
    pad.addEventListener(ev, function () { drawing = false; });
  });
  $("clear").addEventListener("click", clearPad);
  function send(blob) {
    $("predict-error").textContent = "";
    fetch("/api/runs/" + encodeURIComponent($("run").value) + "/predict?top_k=5",
      { method: "POST", body: blob, headers: { "Content-Type": "application/octet-stream" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.error) { $("predict-error").textContent = data.error; return; }
        $("top").innerHTML = "";
        data.predictions.forEach(function (p) {
          var li = document.createElement("li");
          li.textContent = p["class"] + ": " + (100 * p.probability).toFixed(1) + "%";
          $("top").appendChild(li);
        });
        $("maps").innerHTML = "";
        data.feature_maps.forEach(function (src) {
          var img = document.createElement("img"); img.src = src; img.alt = "feature map";
          $("maps").appendChild(img);
        });
      });
  }
  $("predict").addEventListener("click", function () { pad.toBlob(send, "image/png"); });
  $("upload").addEventListener("change", function () {
    if (this.files.length) send(this.files[0]);
  });
}

// run page: the effective receptive field of a layer of the run's checkpoint
if ($("erf")) {
  $("erf").addEventListener("click", function () {
    var url = "/api/runs/" + encodeURIComponent(this.dataset.run) +
      "/effective-field?layer=" + encodeURIComponent($("erf-layer").value);
    fetch(url).then(function (r) { return r.json(); }).then(function (d) {
      if (d.error) { $("erf-out").textContent = d.error; return; }
      $("erf-out").innerHTML = '<img width="192" height="192" style="image-rendering: pixelated" alt="effective field" src="' +
        d.png + '"> above 1% of the peak: ' + d.extent_1pct.join("x") + " of " + d.input_size.join("x") + " px";
    });
  });
}
