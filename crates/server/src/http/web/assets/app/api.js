// The v1 API as the app calls it: the session cookie, the CSRF token on
// every change, errors thrown as ApiError. An error's message is the
// agent's language for every code the strings know (`err_<code>`), else
// the server's words; a lost connection says so and that it may be retried.

import { request, parseJson, has, t } from "../shared.js";

/** The message of an error `code`: ours when we have one (with the
 * error's `params`, `{max}` and the like, filled in), else `fallback`.
 * A rule change that does not fit the rest of the rule names its `cause`;
 * an error in one condition or action of a list says which one. */
export function errorMessage(code, fallback, params) {
  const p = params || {};
  if (code === "rule_conflict" && p.cause) {
    return t("err_rule_conflict") + " " + errorMessage(p.cause, fallback, { ...p, cause: undefined });
  }
  if (code === "not_found" && p.what) {
    const what = String(p.what).replace(/ /g, "_");
    if (has("err_not_found_" + what)) return t("err_not_found_" + what, p);
  }
  if (!has("err_" + code)) return fallback;
  const where = [];
  if (p.condition) where.push(t("err_in_condition", { condition: p.condition }));
  if (p.action) where.push(t("err_in_action", { action: p.action }));
  where.push(t("err_" + code, p));
  return where.join(" ");
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return "";
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let sessionEnded = () => {};

/** What to do when the server says the session is over (a 401 outside
 * sign-in): the shell shows the login. */
export function onSessionEnd(fn) {
  sessionEnded = fn;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("casedesk_csrf");
  let r;
  try {
    r = await request(path, { method, headers, body, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, "network", errorMessage("network", String(e.message || e)));
  }
  return apiAnswer(path, r.status, r.statusText, r.data);
}

/** The JSON of an API answer, or its `{"error"}` thrown as an ApiError; a
 * 401 means the session has ended: back to the login. */
function apiAnswer(path, status, statusText, data) {
  if (status < 200 || status > 299) {
    const err = (data && data.error) || {};
    const code = err.code || "http_" + status;
    const e = new ApiError(status, code, errorMessage(code, err.message || statusText, err.params));
    if (status === 401 && !path.startsWith("/api/v1/auth/")) sessionEnded();
    throw e;
  }
  return data;
}

/** POSTs a file's bytes as the body (the API tells the type from them),
 * calling `onProgress` with the share sent so far (0..1). XHR rather than
 * fetch, because only it reports upload progress. Answers like `api`. */
export function uploadFile(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", cookie("casedesk_csrf"));
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && e.total) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      try {
        resolve(apiAnswer(path, xhr.status, xhr.statusText, parseJson(xhr.responseText)));
      } catch (e) {
        reject(e);
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", errorMessage("network", t("upload_failed")))));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", t("upload_failed"))));
    xhr.send(file);
  });
}
