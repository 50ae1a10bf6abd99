// Files in the widget's messages: images as thumbnails, the rest as chips
// that download. The download needs the visitor token, so files are
// fetched here and handed over as object URLs, never as plain links.

import { h, fmtSize, t } from "../shared.js";

/** `notice(text)` tells the visitor when a download fails. */
export function attachments({ apiBase, state, root, notice }) {
  // ------------------------------------------------------------ attachments

  const thumbs = new Map(); // attachment id -> Promise of an object URL of the image
  const isImage = (a) => /^image\//.test(a.content_type || "");

  /** A message's files under its bubble; a bubble saying only the file's
   * name (the server's default text) is not shown twice. */
  function showAttachments(node, files) {
    files = Array.isArray(files) ? files.filter((a) => a && typeof a.id === "string") : [];
    if (!files.length || node.querySelector(".cd-atts")) return;
    node.querySelector(".cd-meta").before(h("div", { class: "cd-atts" }, ...files.map((a) => (isImage(a) ? thumbnail(a) : fileChip(a)))));
    const bubble = node.querySelector(".cd-bubble");
    if (files.length === 1 && bubble.textContent === files[0].filename) bubble.hidden = true;
  }

  /** The file's bytes: the download needs the visitor token, so no plain URL. */
  async function fetchFile(id) {
    const res = await fetch(apiBase + "/attachments/" + encodeURIComponent(id), {
      headers: { Authorization: "Bearer " + state.token },
      mode: "cors",
      credentials: "omit",
    });
    if (!res.ok) throw new Error("attachment: " + res.status);
    return res.blob();
  }

  function thumbnail(a) {
    const img = h("img", { class: "cd-att-img", alt: a.filename || "" });
    const link = h("a", { class: "cd-att-open", target: "_blank", rel: "noopener", title: t("widget.open_image") }, img);
    if (!thumbs.has(a.id)) {
      const url = fetchFile(a.id).then((blob) => URL.createObjectURL(blob));
      url.catch(() => thumbs.delete(a.id)); // tried again the next time it is drawn
      thumbs.set(a.id, url);
    }
    thumbs.get(a.id).then(
      (url) => {
        img.src = url;
        link.href = url; // full size in a new tab
      },
      () => link.replaceWith(fileChip(a))
    );
    return link;
  }

  function fileChip(a) {
    const chip = h(
      "button",
      { class: "cd-att-file", type: "button", title: t("widget.download"), onclick: () => download(a, chip) },
      h("span", { class: "cd-att-name", dir: "auto" }, a.filename || ""),
      h("span", { class: "cd-att-size" }, fmtSize(a.size_bytes))
    );
    return chip;
  }

  /** Fetches the file and hands it to the browser as a download. */
  async function download(a, chip) {
    chip.disabled = true;
    try {
      const url = URL.createObjectURL(await fetchFile(a.id));
      const link = h("a", { href: url, download: a.filename || "file", hidden: true });
      root.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000); // the download has started by then
    } catch (_) {
      notice(t("widget.download_failed"));
    }
    chip.disabled = false;
  }


  /** The visitor changed: their images are let go. */
  function forget() {
    for (const url of thumbs.values()) url.then((u) => URL.revokeObjectURL(u), () => {});
    thumbs.clear();
  }

  return { showAttachments, forget };
}
