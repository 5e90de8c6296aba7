/* Copy buttons on code blocks: the code only, without prompts, line numbers or output.
   The buttons exist only when this script runs, so pages read the same without JavaScript. */
(function () {
  "use strict";
  var script = document.currentScript;
  var text = {
    copy: script.getAttribute("data-copy") || "Copy",
    label: script.getAttribute("data-label") || "Copy the code",
    copied: script.getAttribute("data-copied") || "Copied",
    failed: script.getAttribute("data-failed") || "Copy failed"
  };
  // Pygments marks prompts (>>>, $) as .gp, console output as .go, line numbers as .linenos.
  var NOT_CODE = ".gp, .go, .linenos, .lineno, .linenodiv";

  function codeText(pre) {
    var copy = pre.cloneNode(true);
    copy.querySelectorAll(NOT_CODE).forEach(function (node) {
      var after = node.nextSibling;
      // An output line goes with its line break, so no blank line is left in its place.
      if (node.matches(".go") && after && after.nodeType === 3) after.data = after.data.replace(/^\n/, "");
      node.remove();
    });
    return copy.textContent.replace(/\n+$/, "");
  }

  function fallbackCopy(value) {
    var area = document.createElement("textarea");
    area.value = value;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = document.execCommand("copy");
    area.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("execCommand"));
  }

  function writeClipboard(value) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(value);
    }
    return fallbackCopy(value);
  }

  function announce(status, message) {
    status.textContent = "";
    // A fresh text node after a tick makes screen readers announce a repeated message again.
    setTimeout(function () { status.textContent = message; }, 50);
  }

  function addButton(pre, status) {
    var block = pre.closest(".highlight") || pre;
    if (block.parentNode.classList.contains("code-copy")) return;
    var table = pre.closest("table");
    var source = table ? table.querySelector("td.code pre") || pre : pre;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-code";
    button.textContent = text.copy;
    button.setAttribute("aria-label", text.label);
    button.addEventListener("click", function () {
      writeClipboard(codeText(source)).then(function () {
        button.textContent = text.copied;
        announce(status, text.copied);
      }, function () {
        announce(status, text.failed);
      });
      setTimeout(function () { button.textContent = text.copy; }, 2000);
    });
    // The button sits beside the block, not in it, so it stays put when long lines scroll.
    var frame = document.createElement("div");
    frame.className = "code-copy";
    block.parentNode.insertBefore(frame, block);
    frame.appendChild(block);
    frame.appendChild(button);
  }

  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  document.body.appendChild(status);
  document.querySelectorAll(".highlight pre, pre.highlight").forEach(function (pre) {
    if (!pre.closest("td.linenos")) addButton(pre, status);
  });
  window.builderCodeText = codeText;
}());
