// vidgate console entry point: the key panel, the generate form and the job list.
import { ApiError, AUTH, getKey, setKey } from "./api.js";
import { GenerateForm } from "./form.js";
import { JobList } from "./jobs.js";

const $ = (sel) => document.querySelector(sel);
const read = (id) => JSON.parse(document.getElementById(id).textContent);

const jobs = new JobList(read("vidgate-messages"));
const keyState = $("#key-state");

function showKeyState(text, error = false) {
  keyState.textContent = text;
  keyState.className = error ? "error-text" : "";
}

async function loadJobs() {
  if (AUTH && !getKey()) {
    jobs.reset();
    showKeyState("No key entered yet.");
    return;
  }
  try {
    await jobs.load();
    if (AUTH) showKeyState("Key in use.");
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showKeyState(err.status === 401 ? "The gateway refused this key: check it and enter it again." : err.message, true);
  }
}

$("#key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("#api-key");
  const key = input.value.trim();
  input.value = "";
  if (!key) { showKeyState("Enter a key first.", true); return; }
  setKey(key);
  loadJobs();
});
$("#forget-key").addEventListener("click", () => { setKey(""); loadJobs(); });
$("#refresh-jobs").addEventListener("click", () => loadJobs());

$(".key-panel").hidden = !AUTH;  // a gateway without keys (--no-auth): nothing to enter
new GenerateForm(read("vidgate-capabilities"), { onCreated: (video) => jobs.upsert(video) });
loadJobs();
