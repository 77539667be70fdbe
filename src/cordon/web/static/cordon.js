// cordon web UI: small helpers, no build step. Revealed media stays greyscale until the reviewer asks for colour.
document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return;
  const figure = target.closest("figure.media");
  if (!figure) return;
  if (target.hasAttribute("data-toggle-colour")) {
    figure.querySelector("img")?.classList.toggle("greyscale");
  } else if (target.hasAttribute("data-hide")) {
    const img = figure.querySelector("img");
    if (img) { img.removeAttribute("src"); img.classList.add("blurred"); }
  }
});
