/**
 * Synth-time checks of the node's EC2 instance type against what the official
 * casper-node binaries need: x86-64 with AVX2 and the SHA extensions.
 */

/** Outcome of checking an instance type. */
export interface InstanceTypeCheck {
  /** Why the type cannot run the node; the construct throws it. */
  readonly error?: string;
  /** Why the type may run the node poorly or not at all; the construct warns. */
  readonly warning?: string;
}

/**
 * Families whose Intel CPUs (Haswell to Cascade Lake) lack the SHA extensions:
 * t2, t3, m4, r4, c4 and the Intel members of the 5th generation (m5, m5d, m5n,
 * m5dn, m5zn, r5, r5d, r5n, r5dn, r5b, c5, c5d, c5n). The AMD members (m5a,
 * m5ad, r5a, r5ad, c5a, c5ad; EPYC Zen) and t3a have them.
 */
const NO_SHA_FAMILY = /^(t2|t3|m4|r4|c4|m5(d|n|dn|zn)?|r5(d|n|dn|b)?|c5(d|n)?)$/;

/**
 * ARM families: `a1`, Apple silicon Macs (`mac2*`), and Graviton: any family
 * whose attribute letters after the generation include `g` (m6g, c7gn, r8g,
 * t4g, x2gd, im4gn, g5g), which GPU families like g4dn or g5 do not.
 */
function isArmFamily(family: string): boolean {
  if (family === 'a1' || family.startsWith('mac2')) return true;
  const m = /^([a-z]+)(\d+)([a-z-]*)$/.exec(family);
  return m !== null && m[3].includes('g');
}

/** Checks an instance type name such as `m6a.2xlarge`. */
export function checkInstanceType(name: string): InstanceTypeCheck {
  const [family, size] = name.split('.');
  if (!family || !size) {
    return { error: `"${name}" is not an EC2 instance type name (family.size, for example "m6a.2xlarge")` };
  }
  if (isArmFamily(family)) {
    return { error: `"${name}" is an ARM (Graviton) type; Casper publishes x86-64 (amd64) binaries only` };
  }
  if (NO_SHA_FAMILY.test(family)) {
    return {
      warning: `instance type ${name}: the ${family} family's CPUs may lack the SHA extensions that the official casper-node binaries need; prefer m6a, m6i, r6a, r6i or newer`,
    };
  }
  return {};
}
