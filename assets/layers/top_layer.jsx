// Renders its children at the end of <body>, above any open dialog (wrapped by components/top_layer.py).
// Radix Themes' root is a stacking context (z-index 0), so a fixed element inside it paints under a
// dialog's overlay, which Radix portals after the root, whatever the element's own z-index. A nested
// Theme keeps the theme's tokens (colours, fonts, light or dark) in the portal; React context crosses it.
import { createPortal } from "react-dom";
import { Theme } from "@radix-ui/themes";

export function TopLayer({ children }) {
  if (typeof document === "undefined") return null; // prerendering: there is no body yet
  return createPortal(
    <Theme data-top-layer="" style={{ position: "relative", zIndex: 1 }}>{children}</Theme>,
    document.body,
  );
}
