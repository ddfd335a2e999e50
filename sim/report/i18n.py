"""Every word of the forum report in Danish (the default) and English.

Strings are looked up by key with :func:`text`; a key missing in either language is a bug
that the tests catch (:func:`missing`). Numbers are written the way each language writes
them (Danish: ``12.345`` and ``3,9 %``; English: ``12,345`` and ``3.9%``).
"""

from __future__ import annotations

import math
import re

LANGUAGES = ("da", "en")

#: Size class labels (same order as :data:`sim.places.SIZE_CLASSES`).
SIZE_CLASS_LABELS = {
    "da": ("åbent land", "under 500", "500-999", "1.000-1.999", "2.000-4.999", "5.000-9.999",
           "10.000 og derover"),
    "en": ("open countryside", "under 500", "500-999", "1,000-1,999", "2,000-4,999",
           "5,000-9,999", "10,000 and more"),
}

#: Service kinds (keys of :data:`sim.services.KINDS`).
SERVICE_LABELS = {
    "da": {"grocer": "dagligvarebutik", "school": "skole", "doctor": "læge",
           "pharmacy": "apotek"},
    "en": {"grocer": "grocer", "school": "school", "doctor": "doctor", "pharmacy": "pharmacy"},
}

#: Age groups of ``place_year`` (column -> label).
AGE_LABELS = {
    "da": {"age_0_17": "0-17 år", "age_18_29": "18-29 år", "age_30_64": "30-64 år",
           "age_65_plus": "65 år og derover"},
    "en": {"age_0_17": "0-17", "age_18_29": "18-29", "age_30_64": "30-64",
           "age_65_plus": "65 and over"},
}

#: Kinds of place.
KIND_LABELS = {"da": {"town": "by", "countryside": "åbent land (sognets landdistrikt)"},
               "en": {"town": "town", "countryside": "open countryside (rest of the parish)"}}

#: Why an initiative failed: (pattern at the start of the model's reason, key).
REASONS = ((r"volunteer capacity ran out", "reason_volunteers"),
           (r"turnover too low", "reason_turnover"),
           (r"too few pupils", "reason_pupils"))

STRINGS: dict[str, dict[str, str]] = {
    # page frame
    "title": {"da": "Landsbyernes fremtid i Region Midtjylland",
              "en": "The future of villages in Region Midtjylland"},
    "subtitle": {"da": "Simulerede forløb til {end} med landsim. Rapport til det politiske "
                       "forum om landdistrikternes fremtid.",
                 "en": "Simulated paths to {end} with landsim. Report for the political forum "
                       "on the future of rural areas."},
    "lead": {"da": "Rapporten viser, hvad der sker med regionens byer og landsbyer frem til "
                   "{end}, hvis intet nyt prøves (grundforløbet), hvad hvert afprøvet "
                   "initiativ ændrer, hvor, og hvor sikre vi er, og en side for hvert sted. "
                   "Tallene er fremskrivninger fra en model, ikke forudsigelser: de viser, "
                   "hvad modellens antagelser fører til.",
             "en": "This report shows what happens to the region's towns and villages up to "
                   "{end} if nothing new is tried (the baseline), what each tested initiative "
                   "changes, where, and how sure we are, and a page for every place. The "
                   "figures are projections from a model, not forecasts: they show where the "
                   "model's assumptions lead."},
    "how_to_read": {"da": "Sådan læses tallene: modellen er kørt {n} gange med forskellige "
                          "tilfældige udfald (frø). Bånd og intervaller viser, hvor meget "
                          "resultaterne varierer mellem kørslerne. Hvor et interval for en "
                          "forskel omfatter nul, kan vi ikke skelne virkningen fra ingen "
                          "ændring. Befolkningstal er skønnet for hele befolkningen ud fra "
                          "en kørsel med {scale} af husstandene.",
                    "en": "How to read the figures: the model was run {n} times with "
                          "different random draws (seeds). Bands and intervals show how much "
                          "the results vary between runs. Where the interval of a difference "
                          "includes zero, we cannot tell the effect apart from no change. "
                          "Population figures are full-population estimates from runs with "
                          "{scale} of the households."},
    "nav_overview": {"da": "Regionen", "en": "The region"},
    "nav_initiatives": {"da": "Initiativer", "en": "Initiatives"},
    "nav_places": {"da": "Steder", "en": "Places"},
    "nav_about": {"da": "Om rapporten", "en": "About"},
    "nav_value": {"da": "For pengene", "en": "Per krone"},
    "nav_volunteers": {"da": "Frivillige", "en": "Volunteers"},
    "download_csv": {"da": "Hent data (CSV)", "en": "Download data (CSV)"},
    "figure": {"da": "Figur", "en": "Figure"},
    # overview
    "overview_h": {"da": "Regionen frem til {end} uden nye initiativer",
                   "en": "The region up to {end} without new initiatives"},
    "size_h": {"da": "Befolkning efter bystørrelse", "en": "Population by settlement size"},
    "size_panel": {"da": "{label}", "en": "{label}"},
    "size_total": {"da": "hele regionen", "en": "whole region"},
    "size_note": {"da": "Steder grupperet efter deres størrelse i {start}. Linjen er "
                        "gennemsnittet af kørslerne, båndet spænder fra laveste til højeste "
                        "kørsel.",
                  "en": "Places grouped by their size in {start}. The line is the mean of "
                        "the runs, the band spans the lowest to the highest run."},
    "axis_year": {"da": "år (1. januar)", "en": "year (1 January)"},
    "axis_people": {"da": "indbyggere", "en": "inhabitants"},
    "size_cap": {"da": "Størst fald: {worst_label}, fra {a} til {b} indbyggere i {end} "
                       "({pct}; {agree}). {growth}",
                 "en": "Largest fall: {worst_label}, from {a} to {b} inhabitants by {end} "
                       "({pct}; {agree}). {growth}"},
    "size_cap_growth": {"da": "Størst vækst: {label} ({pct}).",
                        "en": "Largest growth: {label} ({pct})."},
    "size_cap_none_fall": {"da": "Ingen størrelsesgruppe falder i gennemsnit; mindst vækst: "
                                 "{label} ({pct}).",
                           "en": "No size class falls on average; least growth: {label} "
                                 "({pct})."},
    "every_run_falls": {"da": "det falder i alle {n} kørsler",
                        "en": "it falls in all {n} runs"},
    "every_run_grows": {"da": "det vokser i alle {n} kørsler",
                        "en": "it grows in all {n} runs"},
    "runs_disagree": {"da": "kørslerne er uenige om retningen",
                      "en": "the runs disagree on the direction"},
    "size_alt": {"da": "Syv små diagrammer, ét for hver bystørrelse, med befolkningen {start} "
                       "til {end}. {cap}",
                 "en": "Seven small charts, one per settlement size, with the population "
                       "{start} to {end}. {cap}"},
    "map_h": {"da": "Hvor vokser og falder befolkningen?",
              "en": "Where does the population grow and fall?"},
    "map_legend": {"da": "befolkningsændring {start}-{end}, % (skåret ved ±{lim} %)",
                   "en": "population change {start}-{end}, % (clipped at ±{lim}%)"},
    "map_title": {"da": "Ændring pr. sted {start}-{end} (cirklens areal ~ indbyggere {start}; "
                        "kommunegrænser)",
                  "en": "Change by place {start}-{end} (circle area ~ inhabitants {start}; "
                        "municipality borders)"},
    "map_cap": {"da": "{down} af {n} steder mister indbyggere frem til {end} og {up} vokser "
                      "(gennemsnit af kørslerne). Størst relativt fald blandt steder med "
                      "mindst 200 indbyggere: {worst} ({worst_pct}).",
                "en": "{down} of {n} places lose inhabitants by {end} and {up} grow (mean of "
                      "the runs). Largest relative fall among places with at least 200 "
                      "inhabitants: {worst} ({worst_pct})."},
    "map_alt": {"da": "Kort over Region Midtjylland med kommunegrænser og en cirkel for hvert "
                      "sted, farvet efter befolkningsændringen {start}-{end} (lilla: fald, "
                      "orange: vækst). {cap}",
                "en": "Map of Region Midtjylland with municipality borders and a circle for "
                      "each place, coloured by population change {start}-{end} (purple: "
                      "fall, orange: growth). {cap}"},
    "loss_h": {"da": "Landsbyer der mister deres sidste butik, skole eller læge",
               "en": "Villages that lose their last grocer, school or doctor"},
    "loss_axis": {"da": "steder uden den service, de havde i {start}",
                  "en": "places without the service they had in {start}"},
    "loss_cap": {"da": "I {end} har {grocer} steder mistet deres sidste dagligvarebutik, "
                       "{school} deres sidste skole og {doctor} deres sidste læge (gennemsnit "
                       "af kørslerne; laveste-højeste kørsel i båndet).",
                 "en": "By {end}, {grocer} places have lost their last grocer, {school} their "
                       "last school and {doctor} their last doctor (mean of the runs; the "
                       "band spans the lowest to highest run)."},
    "loss_alt": {"da": "Linjediagram over antal steder, der har mistet deres sidste "
                       "dagligvarebutik, skole eller læge, år for år. {cap}",
                 "en": "Line chart of the number of places that have lost their last grocer, "
                       "school or doctor, year by year. {cap}"},
    "loss_table_cap": {"da": "Steder der mister deres sidste {service} i mindst halvdelen af "
                             "kørslerne ({k} steder; de første {shown} vises, alle i CSV-filen).",
                       "en": "Places that lose their last {service} in at least half of the "
                             "runs ({k} places; the first {shown} shown, all in the CSV file)."},
    "loss_none": {"da": "Intet sted mister sin sidste {service} i mindst halvdelen af "
                        "kørslerne.",
                  "en": "No place loses its last {service} in at least half of the runs."},
    "col_place": {"da": "Sted", "en": "Place"},
    "col_municipality": {"da": "Kommune", "en": "Municipality"},
    "col_service": {"da": "Service", "en": "Service"},
    "col_year": {"da": "År (median)", "en": "Year (median)"},
    "col_share_runs": {"da": "Andel af kørsler", "en": "Share of runs"},
    "col_pop": {"da": "Indbyggere {year}", "en": "Inhabitants {year}"},
    "col_diff": {"da": "Forskel {year}", "en": "Difference {year}"},
    "col_interval": {"da": "95 %-interval", "en": "95% interval"},
    "col_verdict": {"da": "Vurdering", "en": "Verdict"},
    "col_initiative": {"da": "Initiativ", "en": "Initiative"},
    "col_failed": {"da": "Opgivet i", "en": "Failed in"},
    "col_reason": {"da": "Hvorfor", "en": "Why"},
    "col_note": {"da": "Forskelle i forhold", "en": "Differences in context"},
    "col_km": {"da": "Km til nærmeste butik", "en": "Km to nearest grocer"},
    "age_h": {"da": "Alderssammensætning nu og i {end}", "en": "Age structure now and in {end}"},
    "age_panel_region": {"da": "Hele regionen", "en": "Whole region"},
    "age_panel_rural": {"da": "Åbent land og byer under 2.000", "en":
                        "Open countryside and towns under 2,000"},
    "age_axis": {"da": "andel af indbyggerne, %", "en": "share of inhabitants, %"},
    "age_cap": {"da": "Andelen på 65 år og derover går fra {a} i {start} til {b} i {end} i "
                      "hele regionen og fra {c} til {d} i åbent land og byer under 2.000 "
                      "(kørslerne: {lo} til {hi}).",
                "en": "The share aged 65 and over goes from {a} in {start} to {b} in {end} in "
                      "the whole region and from {c} to {d} in open countryside and towns "
                      "under 2,000 (runs: {lo} to {hi})."},
    "age_alt": {"da": "Søjlediagram over aldersgrupper i {start} og {end}, for hele regionen "
                      "og for åbent land og byer under 2.000. {cap}",
                "en": "Bar chart of age groups in {start} and {end}, for the whole region and "
                      "for open countryside and towns under 2,000. {cap}"},
    "dist_h": {"da": "Afstand til dagligvarer", "en": "Distance to groceries"},
    "dist_axis": {"da": "andel med mere end 5 km til nærmeste dagligvarebutik, %",
                  "en": "share more than 5 km from the nearest grocer, %"},
    "dist_region": {"da": "hele regionen", "en": "whole region"},
    "dist_rural": {"da": "åbent land og byer under 500", "en":
                   "open countryside and towns under 500"},
    "dist_ref_dk": {"da": "Danmark 2022, alle: {v} (Danmarks Statistik)",
                    "en": "Denmark 2022, everyone: {v} (Statistics Denmark)"},
    "dist_ref_rural": {"da": "Danmark 2022, landdistrikter og byer under 500: {v}",
                       "en": "Denmark 2022, rural districts and villages under 500: {v}"},
    "dist_cap": {"da": "I {start} bor {a} af regionens indbyggere mere end 5 km fra en "
                       "dagligvarebutik (Danmarks Statistik: {dk} i hele Danmark 2022); i {end} "
                       "{b} (kørslerne: {lo} til {hi}). Modellen måler fra stedets midte, ikke fra "
                       "hver adresse, så sammenligningen er vejledende.",
                 "en": "In {start}, {a} of the region's inhabitants live more than 5 km from a "
                       "grocer (Statistics Denmark: {dk} for all of Denmark in 2022); in {end}, "
                       "{b} (runs: {lo} to {hi}). The model measures from the centre of each "
                       "place, not from each address, so the comparison is indicative."},
    "dist_alt": {"da": "Linjediagram over andelen af indbyggere med mere end 5 km til en "
                       "dagligvarebutik, {start}-{end}, med Danmarks Statistiks tal for 2022 "
                       "som vandrette linjer. {cap}",
                 "en": "Line chart of the share of inhabitants more than 5 km from a grocer, "
                       "{start}-{end}, with Statistics Denmark's 2022 figures as horizontal "
                       "lines. {cap}"},
    # initiatives
    "init_h": {"da": "Initiativerne: med og uden", "en": "The initiatives: with and without"},
    "init_lead": {"da": "Hvert scenarie er kørt med de samme {n} frø som grundforløbet, så "
                        "forskellen i hver kørsel skyldes initiativet og dets følger. "
                        "Intervallerne er 95 %-intervaller for den gennemsnitlige forskel.",
                  "en": "Each scenario was run with the same {n} seeds as the baseline, so the "
                        "difference in each run is due to the initiative and what follows "
                        "from it. The intervals are 95% intervals of the mean difference."},
    "init_none": {"da": "Ingen scenarier i resultaterne.", "en": "No scenarios in the results."},
    "scen_targets": {"da": "Scenariet er målrettet {n} steder.",
                     "en": "The scenario targets {n} places."},
    "total_h": {"da": "I alt i de målrettede steder", "en": "In total in the targeted places"},
    "with": {"da": "med initiativet", "en": "with the initiative"},
    "without": {"da": "uden (grundforløb)", "en": "without (baseline)"},
    "diff_axis": {"da": "indbyggere, med minus uden", "en": "inhabitants, with minus without"},
    "targeted_total": {"da": "målrettede steder", "en": "targeted places"},
    "region_total": {"da": "hele regionen", "en": "whole region"},
    "panel_with_without": {"da": "Indbyggere i de målrettede steder",
                           "en": "Inhabitants of the targeted places"},
    "panel_difference": {"da": "Forskel (95 %-interval)", "en": "Difference (95% interval)"},
    "panel_services": {"da": "Åbne butikker og skoler", "en": "Open grocers and schools"},
    "total_cap": {"da": "I {year} har de målrettede steder {diff} indbyggere med initiativet "
                        "i forhold til uden (95 %-interval {lo} til {hi}, {n} kørsler): "
                        "{verdict}. For hele regionen: {rdiff} ({rverdict}).",
                  "en": "In {year}, the targeted places have {diff} inhabitants with the "
                        "initiative compared with without (95% interval {lo} to {hi}, {n} "
                        "runs): {verdict}. For the whole region: {rdiff} ({rverdict})."},
    "total_alt": {"da": "Tre diagrammer: indbyggere i de målrettede steder med og uden "
                        "initiativet, forskellen med 95 %-bånd, og antal åbne butikker og "
                        "skoler. {cap}",
                  "en": "Three charts: inhabitants of the targeted places with and without "
                        "the initiative, the difference with 95% bands, and the number of open "
                        "grocers and schools. {cap}"},
    "services_cap": {"da": "Åbne dagligvarebutikker i de målrettede steder i {year}: {s} med "
                           "initiativet mod {b} uden (gennemsnit af kørslerne).",
                     "en": "Open grocers in the targeted places in {year}: {s} with the "
                           "initiative against {b} without (mean of the runs)."},
    "village_h": {"da": "Sted for sted", "en": "Place by place"},
    "village_cap": {"da": "Af {n} målrettede steder har {up} klart flere indbyggere i {year}, "
                          "{down} klart færre, og for {none} kan forskellen ikke skelnes fra "
                          "ingen ændring (95 %-intervaller).{extra}",
                    "en": "Of {n} targeted places, {up} have clearly more inhabitants in "
                          "{year}, {down} clearly fewer, and for {none} the difference cannot "
                          "be told apart from no change (95% intervals).{extra}"},
    "village_more": {"da": " Diagrammet viser de {k} steder med størst forskel; alle står i "
                           "tabellen og CSV-filen.",
                     "en": " The chart shows the {k} places with the largest difference; all "
                           "are in the table and the CSV file."},
    "village_alt": {"da": "Punktdiagram med forskellen i indbyggere i {year} for hvert "
                          "målrettet sted og dets 95 %-interval. {cap}",
                    "en": "Dot chart of the difference in inhabitants in {year} for each "
                          "targeted place with its 95% interval. {cap}"},
    "dmap_h": {"da": "Kort over forskellen", "en": "Map of the difference"},
    "dmap_legend": {"da": "indbyggere, med minus uden, {year}",
                    "en": "inhabitants, with minus without, {year}"},
    "dmap_cap": {"da": "I {year} har {up} steder klart flere og {down} klart færre indbyggere "
                       "med initiativet (95 %-intervaller){where}.",
                 "en": "In {year}, {up} places have clearly more and {down} clearly fewer "
                       "inhabitants with the initiative (95% intervals){where}."},
    "dmap_chance": {"da": " Blandt {n} steder med en forskel viser omkring {k} (1 ud af 20) en "
                          "»klar« forskel alene ved tilfældighed; læs enkelte steder med "
                          "forsigtighed.",
                    "en": " Among {n} places with a difference, about {k} (1 in 20) show a "
                          "\"clear\" difference by chance alone; read single places with "
                          "care."},
    "dmap_where": {"da": "; størst gevinst: {best} ({v})", "en": "; largest gain: {best} ({v})"},
    "dmap_alt": {"da": "Kort over regionen med kommunegrænser; hvert sted er farvet efter "
                       "forskellen i indbyggere med og uden initiativet i {year}, målrettede "
                       "steder har sort kant. {cap}",
                 "en": "Map of the region with municipality borders; each place is coloured "
                       "by the difference in inhabitants with and without the initiative in "
                       "{year}, targeted places have a black edge. {cap}"},
    "failed_h": {"da": "Initiativer der blev opgivet", "en": "Initiatives that failed"},
    "failed_cap": {"da": "{f} af {s} igangsatte initiativer (sted og kørsel) blev opgivet; "
                         "oftest fordi {reason}.",
                   "en": "{f} of {s} initiatives started (place and run) failed; most often "
                         "because {reason}."},
    "failed_none": {"da": "Intet af de {s} igangsatte initiativer (sted og kørsel) blev "
                          "opgivet.",
                    "en": "None of the {s} initiatives started (place and run) failed."},
    "failed_runs": {"da": "{k} af {n} kørsler", "en": "{k} of {n} runs"},
    "reason_volunteers": {"da": "der var ikke frivillige timer nok",
                          "en": "there were not enough volunteer hours"},
    "reason_turnover": {"da": "omsætningen var for lav (for få kunder)",
                        "en": "turnover was too low (too few customers)"},
    "reason_pupils": {"da": "der var for få elever", "en": "there were too few pupils"},
    "reason_other": {"da": "anden årsag", "en": "another reason"},
    # verdicts (derived from intervals)
    "clearly_more": {"da": "klart flere indbyggere", "en": "clearly more inhabitants"},
    "clearly_fewer": {"da": "klart færre indbyggere", "en": "clearly fewer inhabitants"},
    "cannot_tell": {"da": "kan ikke skelnes fra ingen ændring",
                    "en": "cannot be told apart from no change"},
    "no_difference": {"da": "ingen forskel", "en": "no difference"},
    # places
    "places_h": {"da": "Stederne", "en": "The places"},
    "places_lead": {"da": "Søg efter en by eller et sogn ({n} steder), eller vælg i listen "
                          "efter kommune.",
                    "en": "Search for a town or parish ({n} places), or pick one from the list "
                          "by municipality."},
    "search_label": {"da": "Søg efter sted", "en": "Search for a place"},
    "search_placeholder": {"da": "fx Thyborøn", "en": "e.g. Thyborøn"},
    "search_none": {"da": "Intet sted passer til søgningen.", "en": "No place matches."},
    "list_h": {"da": "Alle steder efter kommune", "en": "All places by municipality"},
    "profile_empty": {"da": "Vælg et sted for at se dets side.",
                      "en": "Pick a place to see its page."},
    # about / provenance
    "about_h": {"da": "Om rapporten og kilderne", "en": "About this report and its sources"},
    "prov_scenario": {"da": "Scenarie", "en": "Scenario"},
    "prov_sha": {"da": "SHA-256 (opløst scenarie)", "en": "SHA-256 (resolved scenario)"},
    "prov_baseline": {"da": "Grundforløb", "en": "Baseline"},
    "prov_seeds": {"da": "Frø", "en": "Seeds"},
    "prov_scale": {"da": "Andel af husstande simuleret", "en": "Share of households simulated"},
    "prov_commit": {"da": "Git-commit (kørsler)", "en": "Git commit (runs)"},
    "prov_version": {"da": "landsim-version", "en": "landsim version"},
    "prov_built": {"da": "Rapporten er lavet {when} med landsim {version} (commit {commit}) af "
                         "{folders}.",
                   "en": "Report built {when} with landsim {version} (commit {commit}) from "
                         "{folders}."},
    "sources_h": {"da": "Datakilder", "en": "Data sources"},
    "sources": {"da": "Befolkning, fødsler, dødsfald og byområder: Danmarks Statistik. "
                      "Kommunale tidsserier: Indenrigs- og Sundhedsministeriet, noegletal.dk. "
                      "Stednavne: SDFI, Danske Stednavne; kommunegrænser: DAGI. Butikker, "
                      "skoler, læger og apoteker: © OpenStreetMap-bidragydere (ODbL), 2019. "
                      "Byindbyggertal også fra GeoNames (CC BY 4.0). Sammenligningstal for "
                      "afstand til dagligvarer: {dst}. Alle kilder og beregninger: "
                      "data/SOURCES.md og docs/ODD.md i landsim.",
                "en": "Population, births, deaths and urban areas: Statistics Denmark. "
                      "Municipal time series: Ministry of the Interior and Health, "
                      "noegletal.dk. Place names: SDFI, Danske Stednavne; municipality "
                      "borders: DAGI. Shops, schools, doctors and pharmacies: © OpenStreetMap "
                      "contributors (ODbL), 2019. Town populations also from GeoNames (CC BY "
                      "4.0). Reference figures for distance to groceries: {dst}. All sources "
                      "and derivations: data/SOURCES.md and docs/ODD.md in landsim."},
    "other_lang": {"da": "English version: landsim report RESULTS --lang en",
                   "en": "Dansk udgave: landsim report RESULTS --lang da"},
    "noscript": {"da": "Stedsiderne kræver JavaScript; resten af rapporten kan læses uden.",
                 "en": "The place pages need JavaScript; the rest of the report works "
                       "without."},
}

#: Strings used by the place profiles rendered in the browser (passed to the page as JSON).
JS_KEYS = (
    "search_none", "profile_empty", "download_csv", "clearly_more", "clearly_fewer",
    "cannot_tell", "no_difference", "p_today", "p_kind", "p_municipality", "p_parish",
    "p_pop", "p_pop_est", "p_traj_h", "p_traj_alt", "p_services_h", "p_services_alt",
    "p_services_none", "p_similar_h", "p_similar_none", "p_initiatives_h", "p_no_initiative",
    "p_init_row", "p_scen_row", "p_grocer_km", "p_age65", "p_baseline", "p_band", "p_with",
    "p_in_runs", "axis_year", "p_change", "reason_volunteers", "reason_turnover",
    "reason_pupils", "reason_other", "p_targeted", "p_not_targeted", "p_year",
)

STRINGS.update({
    "p_today": {"da": "I dag ({year})", "en": "Today ({year})"},
    "p_kind": {"da": "Type", "en": "Kind"},
    "p_municipality": {"da": "Kommune", "en": "Municipality"},
    "p_parish": {"da": "Sogn", "en": "Parish"},
    "p_pop": {"da": "Indbyggere", "en": "Inhabitants"},
    "p_pop_est": {"da": "skønnet", "en": "estimated"},
    "p_grocer_km": {"da": "Km til nærmeste dagligvarebutik", "en": "Km to the nearest grocer"},
    "p_age65": {"da": "Andel 65 år og derover", "en": "Share aged 65 and over"},
    "p_change": {"da": "Ændring til {year}", "en": "Change to {year}"},
    "p_traj_h": {"da": "Befolkning {start}-{end}", "en": "Population {start}-{end}"},
    "p_traj_alt": {"da": "Linjediagram over {name}s befolkning {start}-{end}: grundforløbet "
                         "går fra {a} til {b} indbyggere{with}.",
                   "en": "Line chart of the population of {name} {start}-{end}: the baseline "
                         "goes from {a} to {b} inhabitants{with}."},
    "p_with": {"da": "; med {scen}: {c} ({verdict})", "en": "; with {scen}: {c} ({verdict})"},
    "p_baseline": {"da": "grundforløb (gennemsnit)", "en": "baseline (mean)"},
    "p_band": {"da": "laveste-højeste kørsel", "en": "lowest-highest run"},
    "p_services_h": {"da": "Service i stedet (andel af kørsler med mindst én åben)",
                     "en": "Services in the place (share of runs with at least one open)"},
    "p_services_alt": {"da": "Tabel over service i {name} år for år.",
                       "en": "Table of services in {name} year by year."},
    "p_services_none": {"da": "Stedet har ingen dagligvarebutik, skole, læge eller apotek i "
                              "nogen kørsel; nærmeste dagligvarebutik er {km} km væk i {year}.",
                        "en": "The place has no grocer, school, doctor or pharmacy in any run; "
                              "the nearest grocer is {km} km away in {year}."},
    "p_year": {"da": "År", "en": "Year"},
    "p_similar_h": {"da": "Steder der ligner (til at lære af)",
                    "en": "Places like this one (to learn from)"},
    "p_similar_none": {"da": "Ingen lignende steder fundet.", "en": "No similar places found."},
    "p_initiatives_h": {"da": "Initiativer her", "en": "Initiatives here"},
    "p_no_initiative": {"da": "Intet afprøvet initiativ var målrettet dette sted.",
                        "en": "No tested initiative targeted this place."},
    "p_not_targeted": {"da": "ikke målrettet", "en": "not targeted"},
    "p_init_row": {"da": "{kind}: startet i {started} af {n} kørsler, opgivet i {failed}{why}",
                   "en": "{kind}: started in {started} of {n} runs, failed in {failed}{why}"},
    "p_scen_row": {"da": "{scen} ({targeted}): forskel i {year} {diff} (95 %-interval {lo} til "
                         "{hi}): {verdict}",
                   "en": "{scen} ({targeted}): difference in {year} {diff} (95% interval {lo} "
                         "to {hi}): {verdict}"},
    "p_in_runs": {"da": "kørsler", "en": "runs"},
    "p_targeted": {"da": "målrettet", "en": "targeted"},
})


def text(key: str, lang: str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``values`` filled in.

    Raises:
        KeyError: Unknown key or language (a bug, not a user error).
    """
    s = STRINGS[key][lang]
    return s.format(**values) if values else s


def add_strings(strings: dict[str, dict[str, str]]) -> None:
    """Add strings of a plugin (e.g. a new figure): every key in every language, no clash.

    Raises:
        ValueError: A key exists already with other text, or lacks a language.
    """
    for key, by_lang in strings.items():
        if any(not by_lang.get(lang) for lang in LANGUAGES):
            raise ValueError(f"report string {key!r} needs text in {', '.join(LANGUAGES)}")
        if key in STRINGS and STRINGS[key] != by_lang:
            raise ValueError(f"report string {key!r} exists already; choose another key")
        STRINGS[key] = dict(by_lang)


def missing() -> list[str]:
    """Keys without a non-empty string in every language (should be empty)."""
    return [k for k, v in STRINGS.items() if any(not v.get(lang) for lang in LANGUAGES)]


def number(x: float, lang: str, digits: int = 0, sign: bool = False) -> str:
    """``x`` written the way ``lang`` writes numbers (``nan`` -> an en dash)."""
    if x is None or not math.isfinite(float(x)):
        return "–"
    x = float(x)
    if digits == 0:
        x = round(x)
        if x == 0:
            x = 0.0  # no "-0"
    s = f"{x:{'+' if sign else ''},.{digits}f}"
    if lang == "da":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s.replace("-", "−")


def percent(share: float, lang: str, digits: int = 1, sign: bool = False) -> str:
    """A share (0.039) as a percentage in ``lang`` ("3,9 %" / "3.9%")."""
    s = number(100 * share, lang, digits, sign)
    return f"{s} %" if lang == "da" else f"{s}%"


def reason_key(reason: str) -> str:
    """The string key of a failure reason recorded by the model (``reason_other`` if new)."""
    for pattern, key in REASONS:
        if re.match(pattern, reason or ""):
            return key
    return "reason_other"

#: Initiative kinds (registered names) in plain words; an unknown kind shows its name.
INITIATIVE_LABELS = {
    "da": {"coop_grocer": "borgerdrevet dagligvarebutik", "car_sharing": "delebiler",
           "flex_transit": "flextrafik", "remote_work_hub": "fjernarbejdsplads",
           "village_school": "landsbyskole", "housing": "boligbyggeri",
           "community_house": "forsamlingshus", "health_outreach": "sundhedstilbud i "
           "landsbyen", "nature_project": "naturprojekt"},
    "en": {"coop_grocer": "cooperative grocer", "car_sharing": "car sharing",
           "flex_transit": "demand-responsive bus", "remote_work_hub": "remote-work hub",
           "village_school": "village school", "housing": "housing",
           "community_house": "community house", "health_outreach": "health outreach",
           "nature_project": "nature project"},
}


def initiative_label(kind: str, lang: str) -> str:
    """An initiative kind in plain words (its registered name if not known here)."""
    return INITIATIVE_LABELS[lang].get(kind, kind)


def _da_num(s: str) -> str:
    return s.replace(",", "\0").replace(".", ",").replace("\0", ".")


#: Danish for the context notes of :func:`sim.similar.context_notes` (pattern -> template).
_NOTE_DA: tuple[tuple[str, object], ...] = (
    (r"similar context", "lignende forhold"),
    (r"open countryside, not a town", "åbent land, ikke en by"),
    (r"a town, not open countryside", "en by, ikke åbent land"),
    (r"much (smaller|larger) \(([\d,]+) vs ([\d,]+) inhabitants\)",
     lambda m: f"meget {'mindre' if m[1] == 'smaller' else 'større'} ({_da_num(m[2])} mod "
               f"{_da_num(m[3])} indbyggere)"),
    (r"much (older|younger) population \((\d+)% over 65 vs (\d+)%\)",
     lambda m: f"meget {'ældre' if m[1] == 'older' else 'yngre'} befolkning ({m[2]} % over "
               f"65 mod {m[3]} %)"),
    (r"(more|fewer) children \((\d+)% under 18 vs (\d+)%\)",
     lambda m: f"{'flere' if m[1] == 'more' else 'færre'} børn ({m[2]} % under 18 mod "
               f"{m[3]} %)"),
    (r"no larger town in the region", "ingen større by i regionen"),
    (r"has a larger town (\d+) km away \(this place has none\)",
     lambda m: f"har en større by {m[1]} km væk (dette sted har ingen)"),
    (r"(far from|close to) a larger town \((\d+) km vs (\d+) km\)",
     lambda m: f"{'langt fra' if m[1] == 'far from' else 'tæt på'} en større by ({m[2]} km "
               f"mod {m[3]} km)"),
    (r"(no|a) grocer within (\d+) km \((\d+) km vs (\d+) km\)",
     lambda m: f"{'ingen' if m[1] == 'no' else 'en'} dagligvarebutik inden for {m[2]} km "
               f"({m[3]} km mod {m[4]} km)"),
    (r"(more|fewer) services \((\d+) of (\d+) kinds vs (\d+)\)",
     lambda m: f"{'flere' if m[1] == 'more' else 'færre'} slags service ({m[2]} af {m[3]} "
               f"mod {m[4]})"),
    (r"municipality (growing|shrinking) faster \(([+-][\d.]+)% vs ([+-][\d.]+)% in "
     r"(\d+)-(\d+)\)",
     lambda m: f"kommunen {'vokser' if m[1] == 'growing' else 'skrumper'} hurtigere "
               f"({_da_num(m[2])} % mod {_da_num(m[3])} % i {m[4]}-{m[5]})"),
)


def translate_note(note: str, lang: str) -> str:
    """A context note of :mod:`sim.similar` (English) in ``lang``; unknown parts stay as is."""
    if lang == "en" or not note:
        return note
    out = []
    for part in note.split("; "):
        for pattern, repl in _NOTE_DA:
            m = re.fullmatch(pattern, part)
            if m:
                part = repl if isinstance(repl, str) else repl(m)
                break
        out.append(part)
    return "; ".join(out)
