// Constructs of this folder are added by later work; see DESIGN.md.
export {};
