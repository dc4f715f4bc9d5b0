/* The point page's "Undo" after a status tap: counts the seconds down and takes the button away
 * when the window closes (the server refuses a late undo anyway; without JavaScript the button
 * stays and the server's answer says it is too late). */

const form = document.getElementById("undo-form");

if (form) {
  const left = document.getElementById("undo-left");
  const unit = left.dataset.unit;
  const ends = Date.now() + Number(form.dataset.seconds) * 1000;
  const tick = () => {
    const seconds = Math.ceil((ends - Date.now()) / 1000);
    if (seconds <= 0) {
      form.remove();
      return;
    }
    left.textContent = `(${seconds} ${unit})`;
    setTimeout(tick, 250);
  };
  tick();
}
