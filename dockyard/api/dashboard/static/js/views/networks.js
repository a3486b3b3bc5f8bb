// Networks with their subnets, and security groups with their rules, through the network
// API (/v2.0). Its errors carry a message and no field name, so the forms read the field
// from the message's words.

import { net } from "../api.js";
import { h, heading, replace, table, toast } from "../dom.js";
import { fieldShower, selectField, textField } from "./forms.js";

function guessNetworkField(message) {
  if (/gateway/i.test(message)) return "gateway_ip";
  if (/cidr|prefix|host bits|range|too small|IPv\d|overlap/i.test(message)) return "cidr";
  if (/\bname\b/i.test(message)) return "name";
  return null;
}

function guessRuleField(message) {
  if (/port_range_max|maximum port|port_max/i.test(message)) return "port_range_max";
  if (/port/i.test(message)) return "port_range_min";
  if (/protocol/i.test(message)) return "protocol";
  if (/remote_ip_prefix|cidr|prefix|host bits|ethertype/i.test(message)) return "remote_ip_prefix";
  if (/direction/i.test(message)) return "direction";
  return null;
}

async function submitting(form, work) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

// -- networks --------------------------------------------------------------

export async function networksView(main) {
  const listError = h("p", { id: "networks-error", class: "field-error", role: "alert" });
  const list = h("div", { id: "network-list" }, h("p", { class: "muted" }, "Loading…"));
  const general = h("p", { id: "network-form-error", class: "field-error", role: "alert" });
  const form = h("form", { id: "network-form", class: "card form-grid", novalidate: true,
    "aria-labelledby": "network-form-title" },
  h("h2", { id: "network-form-title", class: "full" }, "Create a network"),
  textField({ id: "net-name", label: "Name", required: true, hint: "For example backend." }),
  textField({ id: "subnet-cidr", label: "Subnet CIDR", required: true,
    hint: "For example 10.20.0.0/24." }),
  textField({ id: "subnet-gateway", label: "Gateway", hint: "Empty for the first address." }),
  general,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create")));
  const show = fieldShower(form, general,
    { name: "net-name", cidr: "subnet-cidr", gateway_ip: "subnet-gateway" }, guessNetworkField);

  replace(main, heading("Networks"), form,
    h("section", { "aria-labelledby": "networks-title" },
      h("h2", { id: "networks-title" }, "Networks of your project"), listError, list));

  async function remove(network) {
    if (!confirm(`Delete the network ${network.name}?`)) return;
    listError.textContent = "";
    try {
      await net.del(`/networks/${network.id}`);
      toast(`Deleted the network ${network.name}.`);
    } catch (error) {
      listError.textContent = `${network.name} was not deleted: ${error.message}`;
    }
    await refresh();
  }

  async function refresh() {
    try {
      const [{ networks }, { subnets }] = await Promise.all([net.get("/networks"),
        net.get("/subnets")]);
      replace(list, table("Networks and their subnets",
        ["Name", "Subnets", "Status", h("span", { class: "visually-hidden" }, "Actions")],
        networks.map((n) => [
          h("span", { class: "net-name" }, n.name || n.id),
          h("ul", { class: "plain" }, subnets.filter((s) => s.network_id === n.id).map((s) =>
            h("li", { class: "subnet" }, s.cidr,
              h("span", { class: "muted" }, s.gateway_ip ? ` gateway ${s.gateway_ip}` : " no gateway")))),
          n.shared ? `${n.status}, shared` : n.status,
          h("button", { type: "button", class: "danger", dataset: { network: n.name },
            "aria-label": `Delete the network ${n.name || n.id}`, onclick: () => remove(n) },
          "Delete")]),
        "No network yet: create one above."));
    } catch (error) {
      listError.textContent = error.message;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show.clear();
    const value = (id) => form.elements[id].value.trim();
    if (!value("net-name")) return show.error({ field: "name", message: "A name is required." });
    if (!value("subnet-cidr")) return show.error({ field: "cidr", message: "A CIDR is required." });
    return submitting(form, async () => {
      let network = null;
      try {
        network = (await net.post("/networks", { network: { name: value("net-name") } })).network;
        const subnet = { network_id: network.id, cidr: value("subnet-cidr"),
          name: `${network.name}-subnet`, ip_version: value("subnet-cidr").includes(":") ? 6 : 4 };
        if (value("subnet-gateway")) subnet.gateway_ip = value("subnet-gateway");
        await net.post("/subnets", { subnet });
        toast(`Created the network ${network.name}.`);
        form.reset();
      } catch (error) {
        // A network without its subnet is not what was asked for: take it away again.
        if (network) await net.del(`/networks/${network.id}`).catch(() => {});
        show.error(error);
      }
      await refresh();
    });
  });
  await refresh();
}

// -- security groups -------------------------------------------------------

const PROTOCOLS = [["", "Any"], ["tcp", "TCP"], ["udp", "UDP"], ["icmp", "ICMP"]];

function ports(rule) {
  if (rule.port_range_min === null && rule.port_range_max === null) return "any";
  if (rule.port_range_min === rule.port_range_max) return String(rule.port_range_min);
  return `${rule.port_range_min ?? ""}–${rule.port_range_max ?? ""}`;
}

export async function securityGroupsView(main) {
  const listError = h("p", { id: "groups-error", class: "field-error", role: "alert" });
  const list = h("div", { id: "group-list" }, h("p", { class: "muted" }, "Loading…"));

  const groupGeneral = h("p", { id: "group-form-error", class: "field-error", role: "alert" });
  const groupForm = h("form", { id: "group-form", class: "card form-grid", novalidate: true,
    "aria-labelledby": "group-form-title" },
  h("h2", { id: "group-form-title", class: "full" }, "Create a security group"),
  textField({ id: "group-name", label: "Name", required: true }),
  textField({ id: "group-description", label: "Description" }),
  groupGeneral,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create")));
  const groupShow = fieldShower(groupForm, groupGeneral,
    { name: "group-name", description: "group-description" },
    (m) => (/description/i.test(m) ? "description" : /name|default/i.test(m) ? "name" : null));

  const groupSelect = h("select", { id: "rule-group", name: "rule-group",
    "aria-describedby": "rule-group-error" });
  const ruleGeneral = h("p", { id: "rule-form-error", class: "field-error", role: "alert" });
  const ruleForm = h("form", { id: "rule-form", class: "card form-grid", novalidate: true,
    "aria-labelledby": "rule-form-title" },
  h("h2", { id: "rule-form-title", class: "full" }, "Add a rule"),
  h("div", { class: "field", dataset: { field: "rule-group" } },
    h("label", { for: "rule-group" }, "Security group"), groupSelect,
    h("p", { class: "field-error", id: "rule-group-error" })),
  selectField({ id: "rule-direction", label: "Direction" },
    [["ingress", "Ingress (coming in)"], ["egress", "Egress (going out)"]]),
  selectField({ id: "rule-protocol", label: "Protocol" }, PROTOCOLS),
  textField({ id: "rule-port-min", label: "From port", inputmode: "numeric",
    hint: "Empty for every port." }),
  textField({ id: "rule-port-max", label: "To port", inputmode: "numeric",
    hint: "Empty for the same as From port." }),
  textField({ id: "rule-remote", label: "Remote CIDR", hint: "Empty for anywhere." }),
  ruleGeneral,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add rule")));
  const ruleShow = fieldShower(ruleForm, ruleGeneral, {
    security_group_id: "rule-group", direction: "rule-direction", protocol: "rule-protocol",
    port_range_min: "rule-port-min", port_range_max: "rule-port-max",
    remote_ip_prefix: "rule-remote",
  }, guessRuleField);

  replace(main, heading("Security groups"),
    h("div", { class: "two-forms" }, groupForm, ruleForm),
    h("section", { "aria-labelledby": "groups-title" },
      h("h2", { id: "groups-title" }, "Security groups of your project"), listError, list));

  async function attempt(what, call) {
    listError.textContent = "";
    try {
      await call();
      toast(`${what}: done.`);
    } catch (error) {
      listError.textContent = `${what} failed: ${error.message}`;
    }
    await refresh();
  }

  function groupCard(group, names) {
    return h("section", { class: "card group", dataset: { group: group.name },
      "aria-labelledby": `group-${group.id}` },
    h("div", { class: "section-head" },
      h("h3", { id: `group-${group.id}` }, group.name),
      h("button", { type: "button", class: "danger", "aria-label": `Delete group ${group.name}`,
        onclick: () => confirm(`Delete the security group ${group.name}?`)
          && attempt(`Deleting ${group.name}`, () => net.del(`/security-groups/${group.id}`)) },
      "Delete group")),
    group.description ? h("p", { class: "muted" }, group.description) : null,
    table(`Rules of ${group.name}`,
      ["Direction", "Ether type", "Protocol", "Ports", "Remote",
        h("span", { class: "visually-hidden" }, "Actions")],
      group.security_group_rules.map((r) => [r.direction, r.ethertype, r.protocol ?? "any",
        ports(r), r.remote_ip_prefix ?? (r.remote_group_id
          ? `group ${names.get(r.remote_group_id) || r.remote_group_id}` : "anywhere"),
        h("button", { type: "button", "aria-label": `Delete the ${r.direction} ${r.protocol ?? "any"} rule`
          + ` (ports ${ports(r)}) of ${group.name}`,
        onclick: () => attempt("Deleting the rule", () => net.del(`/security-group-rules/${r.id}`)) },
        "Delete")]),
      "No rules: nothing is let through."));
  }

  async function refresh() {
    try {
      const groups = (await net.get("/security-groups")).security_groups;
      const chosen = groupSelect.value;
      replace(groupSelect, groups.map((g) => h("option", { value: g.id }, g.name)));
      if (groups.some((g) => g.id === chosen)) groupSelect.value = chosen;
      const names = new Map(groups.map((g) => [g.id, g.name]));
      replace(list, groups.length ? groups.map((g) => groupCard(g, names))
        : h("p", { class: "empty" }, "No security group yet."));
    } catch (error) {
      listError.textContent = error.message;
    }
  }

  groupForm.addEventListener("submit", (event) => {
    event.preventDefault();
    groupShow.clear();
    const value = (id) => groupForm.elements[id].value.trim();
    if (!value("group-name")) return groupShow.error({ field: "name", message: "A name is required." });
    return submitting(groupForm, async () => {
      try {
        const body = { name: value("group-name") };
        if (value("group-description")) body.description = value("group-description");
        const made = (await net.post("/security-groups", { security_group: body })).security_group;
        toast(`Created the security group ${made.name}.`);
        groupForm.reset();
        await refresh();
        groupSelect.value = made.id;
      } catch (error) {
        groupShow.error(error);
      }
    });
  });

  ruleForm.addEventListener("submit", (event) => {
    event.preventDefault();
    ruleShow.clear();
    const value = (id) => ruleForm.elements[id].value.trim();
    if (!value("rule-group")) {
      return ruleShow.error({ field: "security_group_id", message: "Create a security group first." });
    }
    const rule = { security_group_id: value("rule-group"), direction: value("rule-direction") };
    if (value("rule-protocol")) rule.protocol = value("rule-protocol");
    const number = (text) => (/^[0-9]+$/.test(text) ? Number(text) : text);
    if (value("rule-port-min")) {
      rule.port_range_min = number(value("rule-port-min"));
      rule.port_range_max = number(value("rule-port-max") || value("rule-port-min"));
    } else if (value("rule-port-max")) {
      rule.port_range_max = number(value("rule-port-max"));
    }
    if (value("rule-remote")) {
      rule.remote_ip_prefix = value("rule-remote");
      if (rule.remote_ip_prefix.includes(":")) rule.ethertype = "IPv6";
    }
    return submitting(ruleForm, async () => {
      try {
        await net.post("/security-group-rules", { security_group_rule: rule });
        toast("Added the rule.");
        for (const id of ["rule-port-min", "rule-port-max", "rule-remote"]) ruleForm.elements[id].value = "";
        await refresh();
      } catch (error) {
        ruleShow.error(error);
      }
    });
  });
  await refresh();
}
