// The payment page's card step: ask the server for a PaymentIntent, let Stripe.js confirm it
// with the card typed in (Stripe shows the bank's 3-D Secure challenge when it asks for one),
// then have the server check with Stripe that it was paid.
(function () {
  "use strict";
  const form = document.getElementById("pay-form");
  if (!form) {
    return;
  }
  const errorBox = document.getElementById("pay-error");
  const button = form.querySelector("button");
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");

  async function post(url) {
    const response = await fetch(url, { method: "POST", headers: { Accept: "application/json" } });
    const body = response.status === 204 ? {} : await response.json().catch(() => ({}));
    return { status: response.status, body };
  }

  async function pay() {
    const started = await post(form.dataset.retryUrl);
    if (started.status !== 200) {
      return started.body.detail || "Please try again.";
    }
    const result = await stripe.confirmCardPayment(started.body.clientSecret, {
      payment_method: { card },
    });
    if (result.error) {
      return result.error.message;
    }
    const confirmed = await post(form.dataset.confirmUrl);
    return confirmed.status === 204 ? null : confirmed.body.detail || "Please try again.";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    errorBox.textContent = "";
    try {
      const error = await pay();
      if (error === null) {
        window.location.reload();
        return;
      }
      errorBox.textContent = error;
    } catch (failure) {
      errorBox.textContent = "The payment service could not be reached. Please try again.";
    } finally {
      button.disabled = false;
    }
  });
})();
