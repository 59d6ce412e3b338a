// Every page: the navigation follows whether this tab is signed in.
import { signedInEmail } from "./session.js";

function showSession() {
  const email = signedInEmail();
  for (const node of document.querySelectorAll("[data-when-signed-in]")) node.hidden = !email;
  for (const node of document.querySelectorAll("[data-when-signed-out]")) node.hidden = !!email;
  for (const node of document.querySelectorAll("[data-signed-in-email]")) {
    node.textContent = email || "";
  }
}

document.addEventListener("session-changed", showSession);
showSession();
