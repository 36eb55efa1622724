// Regenerates package.json's debugger and breakpoints contributions from adapter/attributes.json
// and src/shippedConfigurations.ts. Run it (npm run sync-manifest) after changing either.
import * as fs from "fs";
import * as path from "path";
import { SHIPPED_CONFIGURATIONS } from "../src/shippedConfigurations";
import { breakpointsContribution, debuggerContribution } from "../src/manifest";
import { ATTRIBUTES_FILE, EXTENSION_ROOT } from "./paths";

const packageJsonPath = path.join(EXTENSION_ROOT, "package.json");
const packageJson = JSON.parse(fs.readFileSync(packageJsonPath, "utf8"));
const attributes = JSON.parse(fs.readFileSync(ATTRIBUTES_FILE, "utf8"));
packageJson.contributes.breakpoints = breakpointsContribution();
packageJson.contributes.debuggers = [debuggerContribution(attributes, SHIPPED_CONFIGURATIONS)];
fs.writeFileSync(packageJsonPath, JSON.stringify(packageJson, null, 2) + "\n");
console.log(`updated ${packageJsonPath}`);
