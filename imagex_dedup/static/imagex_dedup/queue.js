// Keyboard shortcuts of the review queue: 1-9 keep that image, m merge, n not duplicates,
// s skip, u undo the last decision. Keys typed into form fields are left alone.
(function () {
  "use strict";
  const form = document.getElementById("imagex-decision");
  if (!form) return;
  const cards = Array.from(document.querySelectorAll(".imagex-member"));
  const keeper = form.querySelector("input[name=keeper]");

  function choose(card) {
    cards.forEach((c) => c.classList.toggle("imagex-chosen", c === card));
    keeper.value = card.dataset.member;
  }

  function press(key) {
    const button = form.querySelector(`button[data-key="${key}"]`);
    if (button) button.click();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea")) return;
    if (/^[1-9]$/.test(event.key)) {
      const card = cards[Number(event.key) - 1];
      if (card && !card.classList.contains("imagex-gone")) choose(card);
      return;
    }
    if (["m", "n", "s", "u"].includes(event.key)) {
      event.preventDefault();
      press(event.key);
    }
  });
  cards.forEach((card) => card.addEventListener("click", (event) => {
    if (!event.target.closest("a, input, button")) choose(card);
  }));
})();
